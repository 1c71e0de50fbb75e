import GRPCCore
import LaurelShared
import SwiftProtobuf

/// `laurel.v1.RedemptionService` over `Redemptions`: decodes requests, calls
/// the domain, encodes results. No business rules live here.
public struct RedemptionServiceHandler: Laurel_V1_RedemptionService.SimpleServiceProtocol {
    public let redemptions: Redemptions

    public init(redemptions: Redemptions) {
        self.redemptions = redemptions
    }

    public func redeem(request: Laurel_V1_RedeemRequest, context: ServerContext) async throws -> Laurel_V1_RedeemResponse {
        let redemption = try await redemptions.redeem(RedeemRequest(
            memberId: request.memberID, rewardId: request.rewardID, quantity: request.quantity,
            idempotencyKey: request.idempotencyKey), scope: .current)
        return .with { $0.redemption = .init(redemption) }
    }

    public func getRedemption(request: Laurel_V1_GetRedemptionRequest, context: ServerContext) async throws -> Laurel_V1_GetRedemptionResponse {
        let redemption = try await redemptions.redemption(id: request.redemptionID, scope: .current)
        return .with { $0.redemption = .init(redemption) }
    }

    public func listRedemptions(request: Laurel_V1_ListRedemptionsRequest, context: ServerContext) async throws -> Laurel_V1_ListRedemptionsResponse {
        let page = try await redemptions.redemptions(
            memberId: request.memberID, pageSize: Validate.pageSize(request.pageSize), after: PageToken.decode(request.pageToken),
            scope: .current)
        return .with {
            $0.redemptions = page.items.map(Laurel_V1_Redemption.init)
            $0.nextPageToken = page.nextPageTokenString
        }
    }

    public func redeemVoucher(request: Laurel_V1_RedeemVoucherRequest, context: ServerContext) async throws -> Laurel_V1_RedeemVoucherResponse {
        let redemption = try await redemptions.useVoucher(
            code: request.voucherCode, storeId: request.storeID, terminalId: request.terminalID, scope: .current)
        return .with { $0.redemption = .init(redemption) }
    }

    public func cancelRedemption(request: Laurel_V1_CancelRedemptionRequest, context: ServerContext) async throws -> Laurel_V1_CancelRedemptionResponse {
        let redemption = try await redemptions.cancel(id: request.redemptionID, reason: request.reason, scope: .current)
        return .with { $0.redemption = .init(redemption) }
    }
}

extension Laurel_V1_Redemption {
    init(_ redemption: Redemption) {
        self = .with {
            $0.redemptionID = redemption.id
            $0.memberID = redemption.memberId
            $0.rewardID = redemption.rewardId
            $0.quantity = redemption.quantity
            $0.status = .init(redemption.status)
            $0.pointsSpent = redemption.pointsSpent
            $0.voucherCode = redemption.voucherCode ?? ""
            $0.idempotencyKey = redemption.idempotencyKey
            $0.failureReason = redemption.step == .failed ? redemption.failure?.reason ?? "" : ""
            $0.createdAt = .init(redemption.createdAt)
            $0.updatedAt = .init(redemption.updatedAt)
            $0.cancelReason = redemption.cancelReason
            $0.voucherStatus = .init(redemption.voucherStatus)
            if let usedAt = redemption.voucherUsedAt { $0.voucherUsedAt = .init(usedAt) }
            $0.voucherStoreID = redemption.voucherStoreId ?? ""
            $0.voucherTerminalID = redemption.voucherTerminalId ?? ""
            $0.partnerID = redemption.partnerId
        }
    }
}

extension Laurel_V1_RedemptionStatus {
    init(_ status: RedemptionStatus) {
        switch status {
        case .pending: self = .pending
        case .completed: self = .completed
        case .failed: self = .failed
        case .cancelled: self = .cancelled
        case .cancelling: self = .cancelling
        }
    }
}

extension Laurel_V1_VoucherStatus {
    init(_ status: VoucherStatus?) {
        switch status {
        case .issued: self = .issued
        case .used: self = .used
        case .void: self = .void
        case nil: self = .unspecified
        }
    }
}
