import GRPCCore
import LaurelShared

/// `laurel.v1.PrivacyService`: one member's data from the three services, and
/// its erasure everywhere. Members and catalog are reached with redemption's
/// service key; each service audits its own part under the same request id.
public struct PrivacyServiceHandler<Transport: ClientTransport>: Laurel_V1_PrivacyService.SimpleServiceProtocol {
    let redemptions: Redemptions
    let members: Laurel_V1_MemberService.Client<Transport>
    let catalog: Laurel_V1_CatalogService.Client<Transport>
    let options: CallOptions

    /// Every call to a peer carries `timeout` as its deadline; nil for
    /// clients whose transport gives every call one itself.
    public init(redemptions: Redemptions, members: GRPCClient<Transport>, catalog: GRPCClient<Transport>, timeout: Duration?) {
        self.redemptions = redemptions
        self.members = Laurel_V1_MemberService.Client(wrapping: members)
        self.catalog = Laurel_V1_CatalogService.Client(wrapping: catalog)
        var options = CallOptions.defaults
        options.timeout = timeout
        self.options = options
    }

    public func exportMember(request: Laurel_V1_ExportMemberRequest, context: ServerContext) async throws -> Laurel_V1_ExportMemberResponse {
        let memberId = try Validate.identifier(request.memberID, field: "member_id")
        let exportedAt = redemptions.clock.now
        let membersPart = try await peer("members") {
            try await members.exportMemberData(.with { $0.memberID = memberId }, options: options).export
        }
        let reservations = try await peer("catalog") {
            try await catalog.exportMemberReservations(.with { $0.memberID = memberId }, options: options).reservations
        }
        let own = try await redemptions.redemptions(ofMember: memberId)
        return .with {
            $0.export = .with {
                $0.memberID = memberId
                $0.exportedAt = .init(exportedAt)
                $0.members = membersPart
                $0.reservations = reservations
                $0.redemptions = own.map(Laurel_V1_Redemption.init)
            }
        }
    }

    /// Members first (it refuses while points are held), then catalog, then
    /// redemption's own records; each step is idempotent on the request id,
    /// so a failure part-way is finished by repeating the request.
    public func eraseMember(request: Laurel_V1_EraseMemberRequest, context: ServerContext) async throws -> Laurel_V1_EraseMemberResponse {
        let memberId = try Validate.identifier(request.memberID, field: "member_id")
        let requestId = try Validate.identifier(request.requestID, field: "request_id")
        let reason = try Validate.text(request.reason, field: "reason", maxLength: 500, required: true)
        try await redemptions.requireNothingInFlight(ofMember: memberId)
        let erased = try await peer("members") {
            try await members.eraseMemberData(.with {
                $0.memberID = memberId
                $0.requestID = requestId
                $0.reason = reason
            }, options: options)
        }
        let reservations = try await peer("catalog") {
            try await catalog.eraseMemberReservations(.with {
                $0.memberID = memberId
                $0.requestID = requestId
            }, options: options).reservationsErased
        }
        let own = try await redemptions.eraseRedemptions(
            ofMember: memberId, requestId: requestId, reason: reason, keyId: Principal.current?.keyId ?? "")
        return .with {
            $0.memberID = memberId
            $0.erasedAt = erased.erasedAt
            $0.redemptionsAnonymised = Int64(own.count)
            $0.reservationsAnonymised = reservations
        }
    }

    private func peer<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await peerCall(name, body)
        } catch {
            throw PeerFailure(error)
        }
    }
}

/// A peer's refusal passed on as it was, or the peer being out of reach.
struct PeerFailure: LaurelError {
    let error: PeerError

    init(_ error: PeerError) {
        self.error = error
    }

    var code: RPCError.Code {
        switch error {
        case .refused(let code, _, _, _): RPCError.Code(Status.Code(rawValue: code) ?? .unknown) ?? .unknown
        case .unavailable: .unavailable
        }
    }

    var reason: String {
        switch error {
        case .refused(_, let reason, _, _): reason
        case .unavailable: "PEER_UNAVAILABLE"
        }
    }

    var message: String {
        switch error {
        case .refused(_, _, let message, _): message
        case .unavailable(let peer, let detail): "\(peer) could not be reached (\(detail)); the request may be repeated"
        }
    }

    var metadata: [String: String] {
        switch error {
        case .refused(_, _, _, let metadata): metadata
        case .unavailable(let peer, _): ["peer": peer]
        }
    }
}
