import Foundation
import GRDB
import GRPCCore
import GRPCProtobuf
import LaurelShared
import Testing

/// API keys, roles, partner scope and rate limits, on the three executables
/// as processes: the access check runs in each of them.
@Suite struct AccessTests {
    func reward(_ catalog: CatalogClient, stock: Int64 = 5) async throws -> Laurel_V1_Reward {
        try await catalog.createReward(.with {
            $0.sku = uniqueKey("SKU")
            $0.name = "Free coffee"
            $0.kind = .freeProduct
            $0.productSku = "COFFEE"
            $0.costPoints = 10
            $0.stock = stock
        }).reward
    }

    @Test func everyCallNeedsAValidKeyButHealthDoesNot() async throws {
        try await LaurelCluster.withCluster { laurel in
            for service in [laurel.members, laurel.catalog, laurel.redemption] {
                try await withClient(port: service.port) { client in
                    let status = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init()).status
                    #expect(status == .serving)
                }
            }
            try await withClient(port: laurel.members.port) { client in
                await expectRPCError(.unauthenticated, reason: "API_KEY_MISSING") {
                    _ = try await MembersClient(wrapping: client).getBalance(.with { $0.memberID = "mbr_x" })
                }
            }
            try await withClient(port: laurel.catalog.port) { client in
                await expectRPCError(.unauthenticated, reason: "API_KEY_MISSING") {
                    _ = try await CatalogClient(wrapping: client).listRewards(.init())
                }
            }
            try await withClient(port: laurel.redemption.port) { client in
                await expectRPCError(.unauthenticated, reason: "API_KEY_MISSING") {
                    _ = try await RedemptionClient(wrapping: client).getRedemption(.with { $0.redemptionID = "rdm_x" })
                }
            }
            // A key of the right shape that was never issued, and one of the wrong shape.
            let forged = "lk_0123456789abcdef_" + String(repeating: "ab", count: 32)
            try await laurel.withClients(apiKey: forged) { forger in
                await expectRPCError(.unauthenticated, reason: "API_KEY_INVALID") { _ = try await forger.members.listMembers(.init()) }
                await expectRPCError(.unauthenticated, reason: "API_KEY_INVALID") { _ = try await forger.catalog.listRewards(.init()) }
                await expectRPCError(.unauthenticated, reason: "API_KEY_INVALID") {
                    _ = try await forger.redemption.getRedemption(.with { $0.redemptionID = "rdm_x" })
                }
            }
            try await withClient(port: laurel.members.port, apiKey: "hunter2") { client in
                await expectRPCError(.unauthenticated, reason: "API_KEY_MALFORMED") {
                    _ = try await MembersClient(wrapping: client).getBalance(.with { $0.memberID = "mbr_x" })
                }
            }
        }
    }

    @Test func rolesLimitWhatAKeyMayCall() async throws {
        try await LaurelCluster.withCluster { laurel in
            let partner = try await laurel.createKey(.partner, partnerId: "acme-pos")
            let service = try await laurel.createKey(.service)
            try await laurel.withClients(apiKey: partner) { acme in
                let me = try await acme.access.whoAmI(.init()).key
                #expect(me.role == .partner && me.partnerID == "acme-pos")
                await expectRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED") { _ = try await reward(acme.catalog) }
                await expectRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED") {
                    _ = try await acme.access.createApiKey(.with { $0.name = "mine"; $0.role = .operator; $0.requestID = "k" })
                }
                let member = try await acme.members.enrollMember(.with { $0.externalID = "acme-1" }).member
                #expect(member.partnerID == "acme-pos")
                await expectRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED") {
                    _ = try await acme.members.adjustPoints(.with { $0.memberID = member.memberID; $0.delta = 100; $0.reason = "gift"; $0.requestID = "a" })
                }
                await expectRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED") {
                    _ = try await acme.members.holdPoints(.with { $0.memberID = member.memberID; $0.holdID = "h"; $0.points = 1 })
                }
                await expectRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED") {
                    _ = try await acme.members.updateMember(.with { $0.memberID = member.memberID; $0.tier = "GOLD" })
                }
                await expectRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED") {
                    _ = try await acme.members.updateMember(.with { $0.memberID = member.memberID; $0.tierFloor = "GOLD" })
                }
                // Partners read the programme to explain balances, but only operators change it.
                let program = try await acme.program.getProgram(.init()).program
                #expect(program.version == 1)
                _ = try await acme.program.listCampaigns(.init())
                await expectRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED") {
                    _ = try await acme.program.updateProgram(.with { $0.program = program; $0.requestID = "p" })
                }
                await expectRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED") {
                    _ = try await acme.program.runProgramSweep(.init())
                }
            }
            try await laurel.withClients(apiKey: service) { redemption in
                await expectRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED") {
                    _ = try await redemption.members.enrollMember(.with { $0.externalID = "svc-1" })
                }
                await expectRPCError(.permissionDenied, reason: "ROLE_NOT_ALLOWED") {
                    _ = try await redemption.redemption.redeem(.with { $0.memberID = "m"; $0.rewardID = "r"; $0.quantity = 1; $0.idempotencyKey = "k" })
                }
            }
        }
    }

    @Test func aPartnerSeesAndChangesOnlyTheMembersItEnrolled() async throws {
        try await LaurelCluster.withCluster { laurel in
            let acmeKey = try await laurel.createKey(.partner, partnerId: "acme")
            let globexKey = try await laurel.createKey(.partner, partnerId: "globex")
            let rewardId = try await laurel.withClients { op in try await reward(op.catalog, stock: 5).rewardID }
            let (acmeMember, redemption) = try await laurel.withClients(apiKey: acmeKey) { acme in
                let member = try await acme.members.enrollMember(.with { $0.externalID = "shopper-1" }).member
                _ = try await acme.members.recordPurchase(.with {
                    $0.memberID = member.memberID
                    $0.orderID = uniqueKey("order")
                    $0.amount = .with { $0.currencyCode = "USD"; $0.minorUnits = 5_000 }
                })
                // Partners read the catalogue to offer rewards.
                #expect(try await acme.catalog.listRewards(.init()).rewards.map(\.rewardID).contains(rewardId))
                let redeemed = try await acme.redemption.redeem(.with {
                    $0.memberID = member.memberID; $0.rewardID = rewardId; $0.quantity = 1; $0.idempotencyKey = "acme-r1"
                }).redemption
                #expect(redeemed.status == .completed)
                #expect(redeemed.partnerID == "acme")
                return (member, redeemed)
            }
            try await laurel.withClients(apiKey: globexKey) { globex in
                let id = acmeMember.memberID
                await expectRPCError(.permissionDenied, reason: "MEMBER_NOT_IN_SCOPE") {
                    _ = try await globex.members.getMember(.with { $0.memberID = id })
                }
                await expectRPCError(.permissionDenied, reason: "MEMBER_NOT_IN_SCOPE") {
                    _ = try await globex.members.getMember(.with { $0.externalID = "shopper-1" })
                }
                await expectRPCError(.permissionDenied, reason: "MEMBER_NOT_IN_SCOPE") {
                    _ = try await globex.members.getBalance(.with { $0.memberID = id })
                }
                await expectRPCError(.permissionDenied, reason: "MEMBER_NOT_IN_SCOPE") {
                    _ = try await globex.members.recordPurchase(.with {
                        $0.memberID = id; $0.orderID = "g-1"; $0.amount = .with { $0.currencyCode = "USD"; $0.minorUnits = 100 }
                    })
                }
                await expectRPCError(.permissionDenied, reason: "MEMBER_NOT_IN_SCOPE") {
                    _ = try await globex.members.listLedger(.with { $0.memberID = id })
                }
                // Enrolling the same customer id does not reveal acme's member.
                do {
                    _ = try await globex.members.enrollMember(.with { $0.externalID = "shopper-1" })
                    Issue.record("enrolled another partner's customer")
                } catch let error as RPCError {
                    #expect(error.code == .alreadyExists)
                    #expect(!error.message.contains(id) && error.laurelErrorInfo?.metadata["member_id"] == "")
                }
                #expect(try await globex.members.listMembers(.init()).members.isEmpty)
                await expectRPCError(.permissionDenied, reason: "REDEMPTION_NOT_IN_SCOPE") {
                    _ = try await globex.redemption.getRedemption(.with { $0.redemptionID = redemption.redemptionID })
                }
                await expectRPCError(.permissionDenied, reason: "REDEMPTION_NOT_IN_SCOPE") {
                    _ = try await globex.redemption.cancelRedemption(.with { $0.redemptionID = redemption.redemptionID })
                }
                await expectRPCError(.permissionDenied, reason: "REDEMPTION_NOT_IN_SCOPE") {
                    _ = try await globex.redemption.redeemVoucher(.with { $0.voucherCode = redemption.voucherCode; $0.storeID = "s1" })
                }
                #expect(try await globex.redemption.listRedemptions(.with { $0.memberID = id }).redemptions.isEmpty)
                // Redeeming for acme's member is refused by members, and the stock goes back.
                await expectRPCError(.permissionDenied, reason: "MEMBER_NOT_IN_SCOPE") {
                    _ = try await globex.redemption.redeem(.with { $0.memberID = id; $0.rewardID = rewardId; $0.quantity = 1; $0.idempotencyKey = "g-r1" })
                }
            }
            try await laurel.withClients { op in
                let reward = try await op.catalog.getReward(.with { $0.rewardID = rewardId }).reward
                #expect(reward.stockAvailable == 4 && reward.stockReserved == 0 && reward.stockCommitted == 1)
                #expect(try await op.members.getBalance(.with { $0.memberID = acmeMember.memberID }).balance.available == 40)
                #expect(try await op.members.listMembers(.init()).members.count == 1)
            }
            try await laurel.withClients(apiKey: acmeKey) { acme in
                #expect(try await acme.members.listMembers(.init()).members.map(\.memberID) == [acmeMember.memberID])
                let used = try await acme.redemption.redeemVoucher(.with { $0.voucherCode = redemption.voucherCode; $0.storeID = "s1" })
                #expect(used.redemption.voucherStatus == .used)
            }
        }
    }

    @Test func keysAreShownOnceStoredHashedAndRevocable() async throws {
        try await LaurelCluster.withCluster(authCacheSeconds: 0) { laurel in
            let partner = try await laurel.createKey(.partner, partnerId: "acme")
            let keyId = String(partner.split(separator: "_")[1])
            try await laurel.withClients(apiKey: partner) { acme in
                _ = try await acme.catalog.listRewards(.init())
                _ = try await acme.members.listMembers(.init())
            }
            try await laurel.withClients { op in
                let listed = try await op.access.listApiKeys(.init()).keys
                #expect(listed.map(\.keyID).contains(keyId))
                #expect(listed.count == 3)  // bootstrap, redemption's service key, this one
                let revoked = try await op.access.revokeApiKey(.with { $0.keyID = keyId }).key
                #expect(revoked.hasRevokedAt)
                #expect(try await op.access.listApiKeys(.init()).keys.count == 2)
                #expect(try await op.access.listApiKeys(.with { $0.includeRevoked = true }).keys.count == 3)
                // The secret cannot be issued twice.
                _ = try await op.access.createApiKey(.with { $0.name = "till"; $0.role = .partner; $0.partnerID = "acme"; $0.requestID = "once" })
                await expectRPCError(.alreadyExists, reason: "API_KEY_SECRET_ALREADY_ISSUED") {
                    _ = try await op.access.createApiKey(.with { $0.name = "till"; $0.role = .partner; $0.partnerID = "acme"; $0.requestID = "once" })
                }
            }
            try await laurel.withClients(apiKey: partner) { revoked in
                await expectRPCError(.unauthenticated, reason: "API_KEY_INVALID") { _ = try await revoked.members.listMembers(.init()) }
                await expectRPCError(.unauthenticated, reason: "API_KEY_INVALID") { _ = try await revoked.catalog.listRewards(.init()) }
            }

            // Stored as hashes only; never in a log.
            let database = try DatabaseQueue(
                path: laurel.data.appendingPathComponent("laurel-members/members.sqlite").path,
                configuration: DatabaseBootstrap.configuration())
            let stored = try database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM api_key") }
            #expect(stored.count == 4)
            let secrets = [partner, laurel.operatorKey]
            for row in stored {
                let text = row.databaseValues.map { "\($0)" }.joined(separator: " ")
                for secret in secrets {
                    #expect(!text.contains(secret) && !text.contains(String(secret.suffix(64))))
                }
            }
            for service in [laurel.members, laurel.catalog, laurel.redemption] {
                for secret in secrets { #expect(!service.log.contains(String(secret.suffix(64))), "\(service.name) logged a key") }
            }
            // Printed on the first start only.
            try await laurel.restart("laurel-members")
            #expect(laurel.members.bootstrapOperatorKey == nil)
            #expect(!laurel.members.startupOutput.contains("lk_"))
        }
    }

    /// Catalog and redemption ask members about keys (here on every call: no
    /// cache). While members is stopped, a key it confirmed lately still gets
    /// in there, so that restarting members does not fail their callers; a key
    /// it never confirmed to them cannot.
    @Test func whileMembersIsStoppedKeysItConfirmedStillWorkElsewhere() async throws {
        try await LaurelCluster.withCluster(authCacheSeconds: 0) { laurel in
            let partner = try await laurel.createKey(.partner, partnerId: "acme")
            let unchecked = try await laurel.createKey(.partner, partnerId: "acme")
            try await laurel.withClients(apiKey: partner) { acme in
                _ = try await acme.catalog.listRewards(.init())
                await expectRPCError(.notFound, reason: "REDEMPTION_NOT_FOUND") {
                    _ = try await acme.redemption.getRedemption(.with { $0.redemptionID = "rdm_x" })
                }
            }
            #expect(await laurel.members.stop() == 0)
            try await laurel.withClients(apiKey: partner) { acme in
                _ = try await acme.catalog.listRewards(.init())
                await expectRPCError(.notFound, reason: "REDEMPTION_NOT_FOUND") {
                    _ = try await acme.redemption.getRedemption(.with { $0.redemptionID = "rdm_x" })
                }
            }
            try await laurel.withClients(apiKey: unchecked) { acme in
                await expectRPCError(.unavailable, reason: "AUTH_UNAVAILABLE") { _ = try await acme.catalog.listRewards(.init()) }
            }
            try await laurel.restart("laurel-members")
            try await laurel.withClients(apiKey: unchecked) { acme in
                _ = try await acme.catalog.listRewards(.init())
                _ = try await acme.members.listMembers(.init())
            }
        }
    }

    @Test func aKeyOverItsRateIsToldWhenToRetry() async throws {
        try await LaurelCluster.withCluster { laurel in
            // 1 call a second, bursts of 2.
            let slow = try await laurel.createKey(.partner, partnerId: "acme", rateLimitPerSecond: 1)
            try await laurel.withClients(apiKey: slow) { acme in
                let started = ContinuousClock.now
                let outcomes = await withTaskGroup(of: Result<Void, RPCError>.self) { group in
                    for _ in 0..<10 {
                        group.addTask {
                            do {
                                _ = try await acme.members.listMembers(.init())
                                return .success(())
                            } catch let error as RPCError {
                                return .failure(error)
                            } catch {
                                return .failure(RPCError(code: .unknown, message: "\(error)"))
                            }
                        }
                    }
                    return await group.reduce(into: []) { $0.append($1) }
                }
                let elapsed = started.duration(to: .now)
                let admitted = outcomes.filter { if case .success = $0 { true } else { false } }.count
                let refusals = outcomes.compactMap { if case .failure(let error) = $0 { error } else { nil } }
                // The burst, plus at most what the rate refilled meanwhile.
                #expect(admitted >= 2)
                #expect(admitted <= 2 + Int(elapsed.components.seconds) + 1, "\(admitted) admitted in \(elapsed)")
                #expect(refusals.count == 10 - admitted)
                for error in refusals {
                    #expect(error.code == .resourceExhausted)
                    #expect(error.laurelErrorInfo?.reason == "RATE_LIMITED")
                    let delays = (try error.unpackGoogleRPCStatus()?.details ?? []).compactMap { $0.retryInfo?.delay }
                    #expect(delays.count == 1 && delays.allSatisfy { $0 > .zero && $0 <= .seconds(1) })
                }
                try await Task.sleep(for: .seconds(1))
                _ = try await acme.members.listMembers(.init())
            }
            // Other keys have their own buckets.
            try await laurel.withClients { op in _ = try await op.members.listMembers(.init()) }
        }
    }

    /// Laurel's transport refuses a request over the limit from its length
    /// prefix; on grpc-swift-nio-transport an interceptor does, and past that
    /// transport's own hard cap the stream is reset instead.
    @Test(arguments: ["frames"]) func anOversizedRequestIsRefused(transport: String) async throws {
        try await LaurelCluster.withCluster(arguments: ["--max-request-bytes", "65536", "--transport", transport]) { laurel in
            try await laurel.withClients { op in
                do {
                    _ = try await op.members.enrollMember(.with {
                        $0.externalID = "big"
                        $0.attributes = ["blob": String(repeating: "x", count: 100_000)]
                    })
                    Issue.record("an oversized request was accepted")
                } catch let error as RPCError {
                    #expect(error.code == .resourceExhausted, "\(error)")
                    let info = error.laurelErrorInfo
                    #expect(info?.reason == "REQUEST_TOO_LARGE")
                    #expect(info?.metadata["max_bytes"] == "65536")
                    #expect(Int(info?.metadata["size"] ?? "") ?? 0 > 100_000)
                    #expect(error.message.hasSuffix("this service accepts at most 65536"), "\(error)")
                }
                do {
                    _ = try await op.members.enrollMember(.with { $0.externalID = "huge"; $0.displayName = String(repeating: "x", count: 300_000) })
                    Issue.record("an oversized request was accepted")
                } catch let error as RPCError {
                    if transport == "frames" {
                        #expect(error.laurelErrorInfo?.reason == "REQUEST_TOO_LARGE", "\(error)")
                    }
                }
                // The connection and the service are fine afterwards.
                _ = try await op.members.enrollMember(.with { $0.externalID = "small" })
                #expect(try await op.members.listMembers(.init()).members.map(\.externalID) == ["small"])
            }
        }
    }
}
