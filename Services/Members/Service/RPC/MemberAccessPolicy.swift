import LaurelShared

extension AccessPolicy {
    /// Who may call what on the members service (operators: everything).
    public static var members: AccessPolicy {
        typealias Members = Laurel_V1_MemberService.Method
        var policy = AccessPolicy()
        policy.grant(
            [.partner], Members.EnrollMember.descriptor, Members.UpdateMember.descriptor, Members.ListMembers.descriptor,
            Members.RecordPurchase.descriptor, Members.ReversePurchase.descriptor, Members.ListLedger.descriptor,
            Members.WatchMemberEvents.descriptor)
        policy.grant([.partner, .service], Members.GetMember.descriptor, Members.GetBalance.descriptor)
        policy.grant(
            [.service], Members.HoldPoints.descriptor, Members.CaptureHold.descriptor, Members.ReleaseHold.descriptor,
            Members.RefundHold.descriptor, Members.HoldPointsBatch.descriptor, Members.CaptureHoldBatch.descriptor)
        policy.grant([.partner, .service], Laurel_V1_AccessService.Method.WhoAmI.descriptor)
        // Redemption's PrivacyService gathers and erases across services.
        policy.grant([.service], Members.ExportMemberData.descriptor, Members.EraseMemberData.descriptor)
        // Partners read the rules to explain balances; operators change them.
        typealias Program = Laurel_V1_ProgramService.Method
        policy.grant([.partner, .service], Program.GetProgram.descriptor, Program.ListCampaigns.descriptor)
        policy.exemptFromRateLimit(Laurel_V1_AccessService.Method.WhoAmI.descriptor)
        return policy
    }
}
