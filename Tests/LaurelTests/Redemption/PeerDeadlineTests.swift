import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LaurelShared
import RedemptionService
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every call redemption makes carries a deadline: against a peer that
/// accepts connections and never answers, each gives up on time and reports
/// the peer unavailable instead of hanging the saga.
@Suite struct PeerDeadlineTests {
    /// A TCP port on 127.0.0.1 that accepts (in the kernel's backlog) and
    /// never speaks: a hung peer.
    final class BlackHole: @unchecked Sendable {
        let socket: Int32
        let port: Int

        init() throws {
            let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
            }
            guard bound == 0, listen(fd, 64) == 0 else { throw HarnessFailure("could not listen") }
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            socket = fd
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        deinit { close(socket) }
    }

    static let apiKey = "lk_" + String(repeating: "0", count: 16) + "_" + String(repeating: "0", count: 64)

    func withHungPeer(_ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Void) async throws {
        let hole = try BlackHole()
        try await withHungPeer(hole, client: try makePeerClient(PeerAddress(argument: "127.0.0.1:\(hole.port)")!, apiKey: Self.apiKey), body)
    }

    func withHungPeer<Transport: ClientTransport>(
        _ hole: BlackHole, client: GRPCClient<Transport>, _ body: (GRPCClient<Transport>) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try? await client.runConnections() }
            try await body(client)
            client.beginGracefulShutdown()
            group.cancelAll()
        }
        withExtendedLifetime(hole) {}
    }

    /// Runs `call`, which must fail as unavailable well before a hang would end.
    func expectGivesUp(_ what: String, _ call: () async throws(PeerError) -> Void) async {
        let started = ContinuousClock.now
        do {
            try await call()
            Issue.record("\(what) succeeded against a peer that never answers")
        } catch {
            guard case .unavailable(_, let detail) = error else {
                Issue.record("\(what): \(error)")
                return
            }
            #expect(detail.contains("deadlineExceeded") || detail.contains("DEADLINE") || detail.contains("unavailable"), "\(what): \(detail)")
        }
        #expect(started.duration(to: .now) < .seconds(10), "\(what) did not give up on its deadline")
    }

    @Test func callsToAHungPeerGiveUpAtTheirDeadline() async throws {
        try await withHungPeer { client in
            await expectEveryCallGivesUp(
                members: GRPCMembersPeer(client: client, timeout: .milliseconds(300)),
                catalog: GRPCCatalogPeer(client: client, timeout: .milliseconds(300)))
        }
    }

    /// As redemption makes them on Laurel's transport: no deadline in the
    /// calls' options, the transport's own (`callTimeout`).
    @Test func callsOnLaurelsTransportGiveUpAtItsDeadline() async throws {
        let hole = try BlackHole()
        let client = makeFramePeerClient(PeerAddress(argument: "127.0.0.1:\(hole.port)")!, apiKey: Self.apiKey, callTimeout: .milliseconds(300))
        try await withHungPeer(hole, client: client) { client in
            await expectEveryCallGivesUp(
                members: GRPCMembersPeer(client: client, timeout: nil), catalog: GRPCCatalogPeer(client: client, timeout: nil))
        }
    }

    func expectEveryCallGivesUp<Transport: ClientTransport>(members: GRPCMembersPeer<Transport>, catalog: GRPCCatalogPeer<Transport>) async {
        await expectGivesUp("hold") { () async throws(PeerError) in
            try await members.hold(
                memberId: "m", holdId: "h", points: 1, ttlSeconds: 60, reason: "", minTier: "", redemptionId: "r", partnerId: "")
        }
        await expectGivesUp("capture") { () async throws(PeerError) in try await members.capture(holdId: "h") }
        await expectGivesUp("release hold") { () async throws(PeerError) in try await members.release(holdId: "h") }
        await expectGivesUp("refund") { () async throws(PeerError) in try await members.refund(holdId: "h") }
        await expectGivesUp("reserve") { () async throws(PeerError) in
            _ = try await catalog.reserve(rewardId: "r", quantity: 1, reservationId: "s", memberId: "m", ttlSeconds: 60)
        }
        await expectGivesUp("commit") { () async throws(PeerError) in try await catalog.commit(reservationId: "s") }
        await expectGivesUp("release reservation") { () async throws(PeerError) in try await catalog.release(reservationId: "s") }
        await expectGivesUp("restock") { () async throws(PeerError) in try await catalog.restock(reservationId: "s") }
    }
}
