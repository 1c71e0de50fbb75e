import GRPCCore
import LaurelShared
import SwiftProtobuf

/// `laurel.v1.MemberService` over `MemberAccounts`: decodes requests, calls the
/// domain, encodes results. No business rules live here.
public struct MemberServiceHandler: Laurel_V1_MemberService.SimpleServiceProtocol {
    public let accounts: MemberAccounts

    public init(accounts: MemberAccounts) {
        self.accounts = accounts
    }

    public func enrollMember(request: Laurel_V1_EnrollMemberRequest, context: ServerContext) async throws -> Laurel_V1_EnrollMemberResponse {
        let member = try await accounts.enroll(EnrollRequest(
            externalId: request.externalID, email: request.email, displayName: request.displayName,
            birthDate: request.birthDate, attributes: request.attributes, referralCode: request.referralCode), scope: .current)
        return .with { $0.member = .init(member) }
    }

    public func getMember(request: Laurel_V1_GetMemberRequest, context: ServerContext) async throws -> Laurel_V1_GetMemberResponse {
        let lookup: MemberLookup
        switch request.lookup {
        case .memberID(let id): lookup = .id(id)
        case .externalID(let id): lookup = .externalId(id)
        case nil: throw InvalidArgument("lookup", "set member_id or external_id")
        }
        let member = try await accounts.member(lookup, scope: .current)
        let status = try await accounts.tierStatus(of: member)
        return .with {
            $0.member = .init(member)
            $0.tierStatus = .init(status)
        }
    }

    public func updateMember(request: Laurel_V1_UpdateMemberRequest, context: ServerContext) async throws -> Laurel_V1_UpdateMemberResponse {
        // A partner keeps the profile up to date; status and tier are the programme's to set.
        if Principal.current?.role == .partner, request.status != .unspecified || request.hasTier || request.hasTierFloor {
            throw AccessError.roleNotAllowed(role: .partner, method: "UpdateMember with status, tier or tier_floor")
        }
        let status: MemberStatus? = request.status == .unspecified ? nil : try requireEnum(request.status, field: "status", MemberStatus.init)
        let member = try await accounts.update(UpdateMemberRequest(
            memberId: request.memberID,
            email: request.hasEmail ? request.email : nil,
            displayName: request.hasDisplayName ? request.displayName : nil,
            birthDate: request.hasBirthDate ? request.birthDate : nil,
            setAttributes: request.setAttributes,
            removeAttributes: request.removeAttributes,
            status: status,
            tier: request.hasTier ? request.tier : nil,
            tierFloor: request.hasTierFloor ? request.tierFloor : nil,
            referralCode: request.hasReferralCode ? request.referralCode : nil), scope: .current)
        return .with { $0.member = .init(member) }
    }

    public func listMembers(request: Laurel_V1_ListMembersRequest, context: ServerContext) async throws -> Laurel_V1_ListMembersResponse {
        let page = try await accounts.members(
            matching: request.hasFilter ? request.filter.domain() : MemberFilter(), pageSize: Validate.pageSize(request.pageSize),
            pageToken: request.pageToken, scope: .current)
        return .with {
            $0.members = page.members.map(Laurel_V1_Member.init)
            $0.nextPageToken = page.nextPageToken
        }
    }

    public func recordPurchase(request: Laurel_V1_RecordPurchaseRequest, context: ServerContext) async throws -> Laurel_V1_RecordPurchaseResponse {
        guard request.hasAmount else { throw InvalidArgument("amount", "is required") }
        let result = try await accounts.recordPurchase(PurchaseRequest(
            memberId: request.memberID,
            orderId: request.orderID,
            currencyCode: request.amount.currencyCode,
            amountMinor: request.amount.minorUnits,
            lines: request.lines.map {
                PurchaseLine(sku: $0.sku, category: $0.category, quantity: $0.quantity, unitPriceMinor: $0.unitPriceMinor)
            },
            occurredAt: request.hasOccurredAt ? try request.occurredAt.validatedInstant(field: "occurred_at") : nil), scope: .current)
        return .with {
            $0.pointsEarned = result.pointsEarned
            $0.balance = .init(result.balance)
            $0.lines = result.earning.lines.map(Laurel_V1_LineEarning.init)
            $0.orderRules = result.earning.orderRules.map(Laurel_V1_RulePoints.init)
            $0.entries = result.entries.map(Laurel_V1_LedgerEntry.init)
            $0.pointsCapped = result.earning.capped
            $0.programVersion = result.programVersion
            if let cashback = result.cashback { $0.cashback = .init(cashback) }
            $0.noPointsReason = result.earning.noPointsReason
        }
    }

    public func adjustPoints(request: Laurel_V1_AdjustPointsRequest, context: ServerContext) async throws -> Laurel_V1_AdjustPointsResponse {
        let result = try await accounts.adjust(AdjustRequest(
            memberId: request.memberID, delta: request.delta, reason: request.reason, requestId: request.requestID))
        return .with {
            $0.entry = .init(result.entry)
            $0.balance = .init(result.balance)
        }
    }

    public func getBalance(request: Laurel_V1_GetBalanceRequest, context: ServerContext) async throws -> Laurel_V1_GetBalanceResponse {
        let (balance, expiring, wallets) = try await accounts.balanceAndExpiry(memberId: request.memberID, scope: .current)
        return .with {
            $0.balance = .init(balance)
            $0.pointsExpiringIn30Days = expiring.within30Days
            if let next = expiring.nextExpiry { $0.nextExpiryAt = .init(next) }
            $0.storeCredit = wallets.map(Laurel_V1_StoreCredit.init)
        }
    }

    public func listLedger(request: Laurel_V1_ListLedgerRequest, context: ServerContext) async throws -> Laurel_V1_ListLedgerResponse {
        if !request.currencyCode.isEmpty {
            let page = try await accounts.creditLedger(
                memberId: request.memberID, currencyCode: request.currencyCode, pageSize: Validate.pageSize(request.pageSize),
                after: PageToken.decode(request.pageToken), scope: .current)
            return .with {
                $0.entries = page.items.map(Laurel_V1_LedgerEntry.init)
                $0.nextPageToken = page.nextPageTokenString
            }
        }
        let page = try await accounts.ledger(
            memberId: request.memberID, pageSize: Validate.pageSize(request.pageSize), after: PageToken.decode(request.pageToken),
            scope: .current)
        return .with {
            $0.entries = page.items.map(Laurel_V1_LedgerEntry.init)
            $0.nextPageToken = page.nextPageTokenString
        }
    }

    public func holdPoints(request: Laurel_V1_HoldPointsRequest, context: ServerContext) async throws -> Laurel_V1_HoldPointsResponse {
        let result = try await accounts.hold(HoldRequest(
            memberId: request.memberID, holdId: request.holdID, points: request.points,
            ttlSeconds: request.ttlSeconds, reason: request.reason, minTier: request.minTier,
            redemptionId: request.redemptionID, partnerId: request.partnerID,
            credit: request.hasCredit ? try request.credit.validated(field: "credit") : nil))
        return .with { $0.hold = .init(result.hold); $0.balance = .init(result.balance) }
    }

    public func captureHold(request: Laurel_V1_CaptureHoldRequest, context: ServerContext) async throws -> Laurel_V1_CaptureHoldResponse {
        let result = try await accounts.capture(holdId: request.holdID)
        return .with { $0.hold = .init(result.hold); $0.balance = .init(result.balance) }
    }

    public func holdPointsBatch(
        request: Laurel_V1_HoldPointsBatchRequest, context: ServerContext
    ) async throws -> Laurel_V1_HoldPointsBatchResponse {
        let outcomes = try await BatchCall.outcomes(
            request.items, method: context.descriptor.fullyQualifiedMethod, key: \.memberID
        ) { item in
            try await holdPoints(request: item, context: context)
        }
        return .with {
            $0.outcomes = outcomes.map { outcome in
                .with {
                    switch outcome {
                    case .done(let held): $0.held = held
                    case .failed(let status): $0.error = status
                    }
                }
            }
        }
    }

    public func captureHoldBatch(
        request: Laurel_V1_CaptureHoldBatchRequest, context: ServerContext
    ) async throws -> Laurel_V1_CaptureHoldBatchResponse {
        let outcomes = try await BatchCall.outcomes(
            request.items, method: context.descriptor.fullyQualifiedMethod, key: \.holdID
        ) { item in
            try await captureHold(request: item, context: context)
        }
        return .with {
            $0.outcomes = outcomes.map { outcome in
                .with {
                    switch outcome {
                    case .done(let captured): $0.captured = captured
                    case .failed(let status): $0.error = status
                    }
                }
            }
        }
    }

    public func releaseHold(request: Laurel_V1_ReleaseHoldRequest, context: ServerContext) async throws -> Laurel_V1_ReleaseHoldResponse {
        let result = try await accounts.release(holdId: request.holdID)
        return .with { $0.hold = .init(result.hold); $0.balance = .init(result.balance) }
    }

    public func refundHold(request: Laurel_V1_RefundHoldRequest, context: ServerContext) async throws -> Laurel_V1_RefundHoldResponse {
        let result = try await accounts.refund(holdId: request.holdID)
        return .with { $0.hold = .init(result.hold); $0.balance = .init(result.balance) }
    }

    public func reversePurchase(request: Laurel_V1_ReversePurchaseRequest, context: ServerContext) async throws -> Laurel_V1_ReversePurchaseResponse {
        let amount = try request.hasAmount
            ? Money(currency: Currency(request.amount.currencyCode, field: "amount.currency_code"), minorUnits: request.amount.minorUnits)
            : nil
        let result = try await accounts.reversePurchase(ReversalRequest(
            orderId: request.orderID, refundId: request.refundID,
            lines: request.lines.map { RefundedLine(sku: $0.sku, quantity: $0.quantity) },
            amount: amount, reason: request.reason), scope: .current)
        return .with {
            $0.pointsReversed = result.pointsReversed
            $0.balance = .init(result.balance)
            $0.entries = result.entries.map(Laurel_V1_LedgerEntry.init)
            $0.refundedTotal = .init(result.refundedTotal)
            if let cashback = result.cashbackReversed { $0.cashbackReversed = .init(cashback) }
            $0.tier = result.tier
        }
    }

    public func expirePoints(request: Laurel_V1_ExpirePointsRequest, context: ServerContext) async throws -> Laurel_V1_ExpirePointsResponse {
        let expired = try await accounts.expirePoints()
        return .with {
            $0.lotsExpired = Int64(expired.lots)
            $0.pointsExpired = expired.points
        }
    }

    /// gRPC reports a cancelled RPC (client gone, deadline, shutdown) through
    /// a handler rather than by cancelling this task, and the follower mostly
    /// sleeps waiting for new events: so it runs as a task of its own that
    /// the report cancels.
    public func watchMemberEvents(
        request: Laurel_V1_WatchMemberEventsRequest, response: RPCWriter<Laurel_V1_MemberEvent>, context: ServerContext
    ) async throws {
        let cursor = try EventCursor.decode(request.afterCursor)
        let memberId = request.memberID.isEmpty ? nil : request.memberID
        let scope = AccessScope.current
        let follower = Task {
            try await accounts.followEvents(after: cursor, memberId: memberId, scope: scope) { event in
                try await response.write(.init(event))
            }
        }
        try await withRPCCancellationHandler {
            try await withTaskCancellationHandler {
                try await follower.value
            } onCancel: {
                follower.cancel()
            }
        } onCancelRPC: {
            follower.cancel()
        }
        // Ended by the call's deadline rather than by a graceful shutdown (OK).
        if CallDeadline.passed { throw RPCError(code: .deadlineExceeded, message: "the call's deadline passed") }
    }
}
