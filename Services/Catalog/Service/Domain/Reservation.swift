import Foundation
import GRDB
import LaurelShared

public enum ReservationStatus: String, Codable, Sendable, CaseIterable {
    case reserved = "RESERVED"
    case committed = "COMMITTED"
    case released = "RELEASED"
    case expired = "EXPIRED"
    case restocked = "RESTOCKED"
}

/// Stock set aside under a client-chosen id until committed, released or expired.
public struct Reservation: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "reservation"

    public var id: String
    public var rewardId: String
    public var quantity: Int64
    public var status: ReservationStatus
    /// The price when reserved, so a later price change cannot alter a redemption in flight.
    public var unitCostPoints: Points
    public var createdAt: Instant
    public var expiresAt: Instant
    public var settledAt: Instant?
    /// Who the units are for, when the caller said.
    public var memberId: String?
}

public struct ReserveRequest: Codable, Sendable, Equatable {
    public var rewardId: String
    public var quantity: Int64
    public var reservationId: String
    public var ttlSeconds: Int64
    public var memberId: String

    public init(rewardId: String, quantity: Int64, reservationId: String, ttlSeconds: Int64 = 0, memberId: String = "") {
        self.rewardId = rewardId
        self.quantity = quantity
        self.reservationId = reservationId
        self.ttlSeconds = ttlSeconds
        self.memberId = memberId
    }
}

public struct ReserveResult: Codable, Sendable, Equatable {
    public var reservation: Reservation
    public var reward: Reward
}
