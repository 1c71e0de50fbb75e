import GRPCCore
import LaurelShared
import SwiftProtobuf

/// `laurel.v1.CatalogService` over `RewardCatalog`: decodes requests, calls the
/// domain, encodes results. No business rules live here.
public struct CatalogServiceHandler: Laurel_V1_CatalogService.SimpleServiceProtocol {
    public let catalog: RewardCatalog

    public init(catalog: RewardCatalog) {
        self.catalog = catalog
    }

    public func createReward(request: Laurel_V1_CreateRewardRequest, context: ServerContext) async throws -> Laurel_V1_CreateRewardResponse {
        let reward = try await catalog.create(CreateRewardRequest(
            sku: request.sku, name: request.name, description: request.description_p,
            kind: requireEnum(request.kind, field: "kind", RewardKind.init),
            costPoints: request.costPoints, stock: request.stock, unlimitedStock: request.unlimitedStock,
            validFrom: request.hasValidFrom ? try request.validFrom.validatedInstant(field: "valid_from") : nil,
            validUntil: request.hasValidUntil ? try request.validUntil.validatedInstant(field: "valid_until") : nil,
            active: request.hasActive ? request.active : nil,
            discountPercent: Int(request.discountPercent),
            valueCurrency: request.value.currencyCode, valueMinor: request.value.minorUnits,
            productSku: request.productSku,
            perMemberLimit: Int(request.perMemberLimit), minTier: request.minTier))
        return .with { $0.reward = .init(reward) }
    }

    public func getReward(request: Laurel_V1_GetRewardRequest, context: ServerContext) async throws -> Laurel_V1_GetRewardResponse {
        let lookup: RewardLookup
        switch request.lookup {
        case .rewardID(let id): lookup = .id(id)
        case .sku(let sku): lookup = .sku(sku)
        case nil: throw InvalidArgument("lookup", "set reward_id or sku")
        }
        let reward = try await catalog.reward(lookup)
        return .with { $0.reward = .init(reward) }
    }

    public func updateReward(request: Laurel_V1_UpdateRewardRequest, context: ServerContext) async throws -> Laurel_V1_UpdateRewardResponse {
        let reward = try await catalog.update(UpdateRewardRequest(
            rewardId: request.rewardID,
            name: request.hasName ? request.name : nil,
            description: request.hasDescription_p ? request.description_p : nil,
            costPoints: request.hasCostPoints ? request.costPoints : nil,
            validFrom: request.hasValidFrom ? try request.validFrom.validatedInstant(field: "valid_from") : nil,
            validUntil: request.hasValidUntil ? try request.validUntil.validatedInstant(field: "valid_until") : nil,
            clearValidFrom: request.removeValidFrom, clearValidUntil: request.removeValidUntil,
            active: request.hasActive ? request.active : nil,
            stockDelta: request.stockDelta, requestId: request.requestID,
            perMemberLimit: request.hasPerMemberLimit ? Int(request.perMemberLimit) : nil,
            minTier: request.hasMinTier ? request.minTier : nil))
        return .with { $0.reward = .init(reward) }
    }

    public func listRewards(request: Laurel_V1_ListRewardsRequest, context: ServerContext) async throws -> Laurel_V1_ListRewardsResponse {
        let page = try await catalog.rewards(
            filter: RewardFilter(includeArchived: request.includeArchived, redeemableOnly: request.redeemableOnly),
            pageSize: Validate.pageSize(request.pageSize), after: PageToken.decode(request.pageToken))
        return .with {
            $0.rewards = page.items.map(Laurel_V1_Reward.init)
            $0.nextPageToken = page.nextPageTokenString
        }
    }

    public func archiveReward(request: Laurel_V1_ArchiveRewardRequest, context: ServerContext) async throws -> Laurel_V1_ArchiveRewardResponse {
        let reward = try await catalog.archive(rewardId: request.rewardID)
        return .with { $0.reward = .init(reward) }
    }

    public func reserveStock(request: Laurel_V1_ReserveStockRequest, context: ServerContext) async throws -> Laurel_V1_ReserveStockResponse {
        let result = try await catalog.reserve(ReserveRequest(
            rewardId: request.rewardID, quantity: request.quantity,
            reservationId: request.reservationID, ttlSeconds: request.ttlSeconds, memberId: request.memberID))
        return .with {
            $0.reservation = .init(result.reservation)
            $0.reward = .init(result.reward)
        }
    }

    public func commitReservation(request: Laurel_V1_CommitReservationRequest, context: ServerContext) async throws -> Laurel_V1_CommitReservationResponse {
        let reservation = try await catalog.commit(reservationId: request.reservationID)
        return .with { $0.reservation = .init(reservation) }
    }

    public func reserveStockBatch(
        request: Laurel_V1_ReserveStockBatchRequest, context: ServerContext
    ) async throws -> Laurel_V1_ReserveStockBatchResponse {
        let outcomes = try await BatchCall.outcomes(
            request.items, method: context.descriptor.fullyQualifiedMethod, key: \.rewardID
        ) { item in
            try await reserveStock(request: item, context: context)
        }
        return .with {
            $0.outcomes = outcomes.map { outcome in
                .with {
                    switch outcome {
                    case .done(let reserved): $0.reserved = reserved
                    case .failed(let status): $0.error = status
                    }
                }
            }
        }
    }

    public func commitReservationBatch(
        request: Laurel_V1_CommitReservationBatchRequest, context: ServerContext
    ) async throws -> Laurel_V1_CommitReservationBatchResponse {
        let outcomes = try await BatchCall.outcomes(
            request.items, method: context.descriptor.fullyQualifiedMethod, key: \.reservationID
        ) { item in
            try await commitReservation(request: item, context: context)
        }
        return .with {
            $0.outcomes = outcomes.map { outcome in
                .with {
                    switch outcome {
                    case .done(let committed): $0.committed = committed
                    case .failed(let status): $0.error = status
                    }
                }
            }
        }
    }

    public func releaseReservation(request: Laurel_V1_ReleaseReservationRequest, context: ServerContext) async throws -> Laurel_V1_ReleaseReservationResponse {
        let reservation = try await catalog.release(reservationId: request.reservationID)
        return .with { $0.reservation = .init(reservation) }
    }

    public func restockReservation(request: Laurel_V1_RestockReservationRequest, context: ServerContext) async throws -> Laurel_V1_RestockReservationResponse {
        let reservation = try await catalog.restock(reservationId: request.reservationID)
        return .with { $0.reservation = .init(reservation) }
    }

    public func getReservation(request: Laurel_V1_GetReservationRequest, context: ServerContext) async throws -> Laurel_V1_GetReservationResponse {
        let reservation = try await catalog.reservation(id: request.reservationID)
        return .with { $0.reservation = .init(reservation) }
    }
}
