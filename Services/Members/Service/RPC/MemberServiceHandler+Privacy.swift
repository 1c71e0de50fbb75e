import GRPCCore
import LaurelShared

extension MemberServiceHandler {
    public func exportMemberData(request: Laurel_V1_ExportMemberDataRequest, context: ServerContext) async throws -> Laurel_V1_ExportMemberDataResponse {
        let export = try await accounts.exportData(memberId: request.memberID)
        return .with { $0.export = .init(export) }
    }

    public func eraseMemberData(request: Laurel_V1_EraseMemberDataRequest, context: ServerContext) async throws -> Laurel_V1_EraseMemberDataResponse {
        let erased = try await accounts.erase(
            memberId: request.memberID, requestId: request.requestID, reason: request.reason, keyId: Principal.current?.keyId ?? "")
        return .with {
            $0.member = .init(erased.member)
            $0.erasedAt = .init(erased.erasedAt)
        }
    }
}

extension Laurel_V1_MemberDataExport {
    init(_ export: MemberExport) {
        self = .with {
            $0.member = .init(export.member)
            $0.balance = .init(export.member.balance)
            $0.storeCredit = export.wallets.map(Laurel_V1_StoreCredit.init)
            $0.ledger = export.ledger.map(Laurel_V1_LedgerEntry.init) + export.creditLedger.map(Laurel_V1_LedgerEntry.init)
            $0.holds = export.holds.map(Laurel_V1_Hold.init)
            $0.purchases = export.purchases.map { purchase in
                .with {
                    $0.orderID = purchase.orderId
                    $0.amount = .init(purchase.amount)
                    $0.lines = purchase.lines.map { line in
                        .with {
                            $0.sku = line.sku
                            $0.category = line.category
                            $0.quantity = line.quantity
                            $0.unitPriceMinor = line.unitPriceMinor
                        }
                    }
                    $0.pointsEarned = purchase.pointsEarned
                    $0.pointsReversed = purchase.pointsReversed
                    $0.refunded = .init(purchase.refunded)
                    $0.occurredAt = .init(purchase.occurredAt)
                }
            }
            $0.events = export.events.map(Laurel_V1_MemberEvent.init)
            $0.referees = export.referees
            if let erasedAt = export.member.erasedAt { $0.erasedAt = .init(erasedAt) }
        }
    }
}
