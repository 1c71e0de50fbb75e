import LaurelShared

extension AccessPolicy {
    /// Who may call what on redemption (operators: everything). Partners
    /// redeem for, look up, cancel and use the vouchers of their own members.
    public static var redemption: AccessPolicy {
        typealias Redemption = Laurel_V1_RedemptionService.Method
        var policy = AccessPolicy()
        policy.grant(
            [.partner], Redemption.Redeem.descriptor, Redemption.GetRedemption.descriptor, Redemption.ListRedemptions.descriptor,
            Redemption.CancelRedemption.descriptor, Redemption.RedeemVoucher.descriptor)
        return policy
    }
}
