import GRPCCore
import LaurelShared

/// `laurel.v1.AccessService`: API keys, over `ApiKeys`.
public struct AccessServiceHandler: Laurel_V1_AccessService.SimpleServiceProtocol {
    public let keys: ApiKeys

    public init(keys: ApiKeys) {
        self.keys = keys
    }

    public func createApiKey(request: Laurel_V1_CreateApiKeyRequest, context: ServerContext) async throws -> Laurel_V1_CreateApiKeyResponse {
        let role = try requireEnum(request.role, field: "role", Role.init)
        let created = try await keys.create(CreateKeyRequest(
            name: request.name, role: role, partnerId: request.partnerID,
            rateLimitPerSecond: Int(request.rateLimitPerSecond), requestId: request.requestID))
        return .with {
            $0.key = .init(created.key)
            $0.apiKey = created.secret
        }
    }

    public func listApiKeys(request: Laurel_V1_ListApiKeysRequest, context: ServerContext) async throws -> Laurel_V1_ListApiKeysResponse {
        let page = try await keys.list(
            pageSize: Validate.pageSize(request.pageSize), after: PageToken.decode(request.pageToken),
            includeRevoked: request.includeRevoked)
        return .with {
            $0.keys = page.items.map(Laurel_V1_ApiKey.init)
            $0.nextPageToken = page.nextPageTokenString
        }
    }

    public func revokeApiKey(request: Laurel_V1_RevokeApiKeyRequest, context: ServerContext) async throws -> Laurel_V1_RevokeApiKeyResponse {
        let key = try await keys.revoke(keyId: request.keyID)
        return .with { $0.key = .init(key) }
    }

    public func whoAmI(request: Laurel_V1_WhoAmIRequest, context: ServerContext) async throws -> Laurel_V1_WhoAmIResponse {
        guard let principal = Principal.current else { throw AccessError.missingKey }
        return .with { $0.key = .init(principal) }
    }
}
