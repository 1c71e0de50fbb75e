import GRPCCore
import LaurelShared

extension CatalogServiceHandler {
    public func getCatalogStats(request: Laurel_V1_GetCatalogStatsRequest, context: ServerContext) async throws -> Laurel_V1_GetCatalogStatsResponse {
        let range = try TimeRange(from: request.hasFrom ? request.from : nil, to: request.hasTo ? request.to : nil, now: catalog.clock.now)
        let stats = try await catalog.stats(range, top: Top.validated(request.top))
        return .with {
            $0.stats = .with {
                $0.rewardsTotal = stats.rewardsTotal
                $0.rewardsActive = stats.rewardsActive
                $0.stockAvailable = stats.stockAvailable
                $0.stockReserved = stats.stockReserved
                $0.unitsCommitted = stats.unitsCommitted
                $0.unitsReleased = stats.unitsReleased
                $0.topRewards = stats.topRewards.map { figure in
                    .with {
                        $0.rewardID = figure.rewardId
                        $0.name = figure.name
                        $0.units = figure.units
                        $0.points = figure.points
                    }
                }
            }
        }
    }
}
