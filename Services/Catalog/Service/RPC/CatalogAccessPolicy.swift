import LaurelShared

extension AccessPolicy {
    /// Who may call what on the catalog (operators: everything). Partners
    /// read the catalogue to offer rewards; redemption's service key moves
    /// stock.
    public static var catalog: AccessPolicy {
        typealias Catalog = Laurel_V1_CatalogService.Method
        var policy = AccessPolicy()
        policy.grant([.partner, .service], Catalog.GetReward.descriptor, Catalog.ListRewards.descriptor)
        policy.grant(
            [.service], Catalog.ReserveStock.descriptor, Catalog.CommitReservation.descriptor, Catalog.ReleaseReservation.descriptor,
            Catalog.RestockReservation.descriptor, Catalog.GetReservation.descriptor,
            Catalog.ReserveStockBatch.descriptor, Catalog.CommitReservationBatch.descriptor,
            Catalog.ExportMemberReservations.descriptor, Catalog.EraseMemberReservations.descriptor)
        return policy
    }
}
