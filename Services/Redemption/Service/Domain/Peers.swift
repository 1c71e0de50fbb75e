import Foundation
import LaurelShared

/// What redemption needs from the catalog, in domain terms. The service uses
/// a gRPC client; tests can plug the catalog's own domain in directly.
public protocol CatalogPeer: Sendable {
    /// Reserves stock for a member; returns the reward's terms at that moment.
    func reserve(rewardId: String, quantity: Int64, reservationId: String, memberId: String, ttlSeconds: Int64) async throws(PeerError) -> ReservedStock
    func commit(reservationId: String) async throws(PeerError)
    func release(reservationId: String) async throws(PeerError)
    func restock(reservationId: String) async throws(PeerError)
}

/// What redemption needs from members, in domain terms.
public protocol MembersPeer: Sendable {
    /// Holds points for a redemption, refused if the member's tier is below
    /// `minTier` ("" for any) or, when `partnerId` is not "", if that partner
    /// did not enrol the member.
    func hold(
        memberId: String, holdId: String, points: Points, ttlSeconds: Int64, reason: String, minTier: String,
        redemptionId: String, partnerId: String
    ) async throws(PeerError)
    func capture(holdId: String) async throws(PeerError)
    func release(holdId: String) async throws(PeerError)
    func refund(holdId: String) async throws(PeerError)
}

/// The reward's terms when its stock was reserved: a later change of price or
/// tier does not alter a redemption already under way.
public struct ReservedStock: Sendable, Equatable {
    public var unitCostPoints: Points
    public var minTier: String

    public init(unitCostPoints: Points, minTier: String) {
        self.unitCostPoints = unitCostPoints
        self.minTier = minTier
    }
}

/// A peer's answer other than success.
public enum PeerError: Error, Sendable, Equatable {
    /// The peer said no, with its status code, reason and message. Nothing was done.
    case refused(code: Int, reason: String, message: String, metadata: [String: String])
    /// The peer could not be reached or did not answer: the call may or may not have happened.
    case unavailable(peer: String, detail: String)

    public var reason: String? {
        if case .refused(_, let reason, _, _) = self { return reason }
        return nil
    }
}
