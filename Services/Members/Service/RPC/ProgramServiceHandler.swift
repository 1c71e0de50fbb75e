import GRPCCore
import LaurelShared

/// `laurel.v1.ProgramService` over `MemberAccounts`.
public struct ProgramServiceHandler: Laurel_V1_ProgramService.SimpleServiceProtocol {
    public let accounts: MemberAccounts

    public init(accounts: MemberAccounts) {
        self.accounts = accounts
    }

    public func getProgram(request: Laurel_V1_GetProgramRequest, context: ServerContext) async throws -> Laurel_V1_GetProgramResponse {
        let program = try await accounts.program()
        return .with { $0.program = .init(program) }
    }

    public func updateProgram(request: Laurel_V1_UpdateProgramRequest, context: ServerContext) async throws -> Laurel_V1_UpdateProgramResponse {
        guard request.hasProgram else { throw InvalidArgument("program", "is required") }
        let program = try await accounts.updateProgram(
            try request.program.rules, expectedVersion: request.expectedVersion, requestId: request.requestID)
        return .with { $0.program = .init(program) }
    }

    public func createCampaign(request: Laurel_V1_CreateCampaignRequest, context: ServerContext) async throws -> Laurel_V1_CreateCampaignResponse {
        guard request.hasCampaign else { throw InvalidArgument("campaign", "is required") }
        let campaign = try await accounts.createCampaign(try request.campaign.domain)
        return .with { $0.campaign = .init(campaign, now: accounts.clock.now) }
    }

    public func listCampaigns(request: Laurel_V1_ListCampaignsRequest, context: ServerContext) async throws -> Laurel_V1_ListCampaignsResponse {
        let page = try await accounts.campaigns(
            includeEnded: request.includeEnded, pageSize: Validate.pageSize(request.pageSize), after: PageToken.decode(request.pageToken))
        let now = accounts.clock.now
        return .with {
            $0.campaigns = page.items.map { Laurel_V1_Campaign($0, now: now) }
            $0.nextPageToken = page.nextPageTokenString
        }
    }

    public func endCampaign(request: Laurel_V1_EndCampaignRequest, context: ServerContext) async throws -> Laurel_V1_EndCampaignResponse {
        let campaign = try await accounts.endCampaign(id: request.campaignID)
        return .with { $0.campaign = .init(campaign, now: accounts.clock.now) }
    }

    public func runProgramSweep(request: Laurel_V1_RunProgramSweepRequest, context: ServerContext) async throws -> Laurel_V1_RunProgramSweepResponse {
        let sweep = try await accounts.runProgramSweep()
        return .with {
            $0.tiersEvaluated = Int64(sweep.tiersEvaluated)
            $0.tiersChanged = Int64(sweep.tiersChanged)
            $0.birthdayBonuses = Int64(sweep.birthdayBonuses)
        }
    }
}
