import Foundation
import GRDB
import LaurelShared

/// Where a redemption's saga stands. Each state is written before the remote
/// call that leaves it, so a restarted service knows what may have been taken.
public enum SagaStep: String, Codable, Sendable, CaseIterable {
    /// Nothing taken yet; next: reserve the stock (and hold the points with
    /// it, when the reward's terms are known).
    case pending = "PENDING"
    /// Stock reserved; next: hold the points.
    case stockReserved = "STOCK_RESERVED"
    /// Stock reserved and points held; next: commit both.
    case pointsHeld = "POINTS_HELD"
    case completed = "COMPLETED"
    /// Giving back whatever was taken, then FAILED.
    case compensating = "COMPENSATING"
    case failed = "FAILED"
    /// Refunding the points and restocking, then CANCELLED.
    case cancelling = "CANCELLING"
    case cancelled = "CANCELLED"

    /// What a client sees.
    public var status: RedemptionStatus {
        switch self {
        case .pending, .stockReserved, .pointsHeld, .compensating: .pending
        case .completed: .completed
        case .failed: .failed
        case .cancelling: .cancelling
        case .cancelled: .cancelled
        }
    }
}

public enum VoucherStatus: String, Codable, Sendable {
    case issued = "ISSUED"
    case used = "USED"
    case void = "VOID"
}

public enum RedemptionStatus: String, Codable, Sendable {
    case pending = "PENDING"
    case completed = "COMPLETED"
    case failed = "FAILED"
    case cancelled = "CANCELLED"
    case cancelling = "CANCELLING"
}

/// Why a redemption failed, kept so that a repeated request gets the same answer.
public struct RedemptionFailure: Codable, Sendable, Equatable {
    /// The gRPC status code.
    public var code: Int
    public var reason: String
    public var message: String
    public var metadata: [String: String]
    /// A peer was unreachable: the same idempotency key may try again.
    public var retryable: Bool
}

public struct Redemption: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "redemption"

    public var seq: Int64?
    public var id: String
    public var memberId: String
    public var rewardId: String
    public var quantity: Int64
    public var idempotencyKey: String
    public var step: SagaStep
    /// Attempts so far; a retryable failure may be tried again under the same key.
    public var attempt: Int
    public var pointsSpent: Points
    public var voucherCode: String?
    public var failure: RedemptionFailure?
    public var cancelReason: String
    public var createdAt: Instant
    public var updatedAt: Instant
    /// The reward's minimum tier, as reserved.
    public var minTier: String?
    public var voucherUsedAt: Instant?
    public var voucherStoreId: String?
    public var voucherTerminalId: String?
    /// The partner whose key asked for it; "" for operators.
    public var partnerId: String

    public init(
        id: String, memberId: String, rewardId: String, quantity: Int64, idempotencyKey: String, step: SagaStep,
        attempt: Int, pointsSpent: Points, voucherCode: String? = nil, failure: RedemptionFailure? = nil,
        cancelReason: String = "", createdAt: Instant, updatedAt: Instant, minTier: String? = nil, partnerId: String = ""
    ) {
        self.partnerId = partnerId
        self.id = id
        self.memberId = memberId
        self.rewardId = rewardId
        self.quantity = quantity
        self.idempotencyKey = idempotencyKey
        self.step = step
        self.attempt = attempt
        self.pointsSpent = pointsSpent
        self.voucherCode = voucherCode
        self.failure = failure
        self.cancelReason = cancelReason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.minTier = minTier
    }

    public var status: RedemptionStatus { step.status }

    public var voucherStatus: VoucherStatus? {
        switch step {
        case .completed: voucherUsedAt == nil ? .issued : .used
        case .cancelling, .cancelled: .void
        case .pending, .stockReserved, .pointsHeld, .compensating, .failed: nil
        }
    }

    /// The ids this attempt uses at the catalog and at members: derived from
    /// the redemption, so ledger entries and reservations name it.
    public var reservationId: String { attempt == 1 ? id : "\(id).\(attempt)" }
    public var holdId: String { reservationId }
}

public struct RedeemRequest: Codable, Sendable, Equatable {
    public var memberId: String
    public var rewardId: String
    public var quantity: Int64
    public var idempotencyKey: String

    public init(memberId: String, rewardId: String, quantity: Int64, idempotencyKey: String) {
        self.memberId = memberId
        self.rewardId = rewardId
        self.quantity = quantity
        self.idempotencyKey = idempotencyKey
    }
}
