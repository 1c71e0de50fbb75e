import Foundation
import Testing

/// The built `laurelctl` run as a process against the three services run as
/// processes, the way an operator uses it: tables by default, `--json` for
/// scripts, errors on standard error with the exit status.
@Suite(.serialized) struct LaurelctlTests {
    @Test func healthShowsEveryServiceAndFailsWhenOneIsDown() async throws {
        try await withCluster { laurel in
            let table = try await laurel.laurelctl("health")
            #expect(table.status == 0, "\(table)")
            for service in ["members", "catalog", "redemption"] {
                let line = table.stdout.split(separator: "\n").first { $0.hasPrefix(service) }
                #expect(line?.contains("SERVING") == true, "\(table)")
            }

            let json = try await laurel.laurelctl("health", "--json")
            let checks = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: String]]
            #expect(checks?.map { $0["service"] } == ["members", "catalog", "redemption"], "\(json)")
            #expect(checks?.allSatisfy { $0["status"] == "SERVING" } == true, "\(json)")

            // Health needs no key, so a wrong one does not matter.
            let withBadKey = try await laurel.laurelctl("health", apiKey: "lk_nobody_nothing")
            #expect(withBadKey.status == 0, "\(withBadKey)")

            let down = try await closedPort()
            let partial = try await runLaurelctl([
                "health", "--members", "127.0.0.1:\(laurel.members.port)", "--catalog", "127.0.0.1:\(down)",
                "--redemption", "127.0.0.1:\(laurel.redemption.port)",
            ])
            #expect(partial.status == 1, "\(partial)")
            let catalogLine = partial.stdout.split(separator: "\n").first { $0.hasPrefix("catalog") }
            #expect(catalogLine?.contains("UNAVAILABLE") == true, "\(partial)")
        }
    }

    @Test func membersEnrollGetAdjustAndBalanceThenPurchasesRecordAndReverse() async throws {
        try await withCluster { laurel in
            let enrolled = try await succeeded(
                laurel.laurelctl(
                    "members", "enroll", "--external-id", "crm-1", "--email", "ada@example.com", "--name", "Ada Lovelace",
                    "--birth-date", "1815-12-10", "--attribute", "store=london", "--attribute", "channel=web"))
            let memberID = try #require(enrolled.detail("member id"))
            #expect(memberID.hasPrefix("mbr_"))
            #expect(enrolled.detail("attributes") == "channel=web, store=london")

            let table = try await succeeded(laurel.laurelctl("members", "get", memberID))
            #expect(table.detail("external id") == "crm-1")
            #expect(table.detail("email") == "ada@example.com")
            #expect(table.detail("name") == "Ada Lovelace")
            #expect(table.detail("tier") == "BASE")
            #expect(table.detail("status") == "ACTIVE")

            let json = try await succeeded(laurel.laurelctl("members", "get", "--external-id", "crm-1", "--json"))
            let member = try #require(try json.json()["member"] as? [String: Any])
            #expect(member["memberId"] as? String == memberID)
            #expect(member["displayName"] as? String == "Ada Lovelace")
            #expect(member["birthDate"] as? String == "1815-12-10")
            #expect(member["attributes"] as? [String: String] == ["store": "london", "channel": "web"])
            #expect(member["status"] as? String == "MEMBER_STATUS_ACTIVE")

            let credit = try await succeeded(
                laurel.laurelctl("members", "adjust", memberID, "--delta", "50", "--reason", "goodwill", "--request-id", "adj-1"))
            #expect(credit.detail("available") == "50")
            #expect(credit.detail("request id") == "adj-1")
            let repeated = try await succeeded(
                laurel.laurelctl("members", "adjust", memberID, "--delta", "50", "--reason", "goodwill", "--request-id", "adj-1"))
            #expect(repeated.detail("available") == "50", "the same request id credits once")
            let debit = try await succeeded(laurel.laurelctl("members", "adjust", memberID, "--delta", "-20", "--reason", "correction"))
            #expect(debit.detail("available") == "30")
            #expect(debit.detail("request id")?.hasPrefix("cli-") == true, "\(debit)")

            let balance = try await succeeded(laurel.laurelctl("members", "balance", memberID, "--json"))
            let points = try #require(try balance.json()["balance"] as? [String: Any])
            // The JSON mapping writes int64 as strings.
            #expect(points["available"] as? String == "30")
            #expect(points["lifetimeEarned"] as? String == "50")

            let purchase = try await succeeded(
                laurel.laurelctl(
                    "purchases", "record", "--member", memberID, "--order-id", "order-1", "--amount", "125.50",
                    "--currency", "USD", "--line", "TEA:tea:2:50.25", "--line", "CAKE:bakery:1:25.00"))
            #expect(purchase.detail("amount") == "125.50 USD")
            #expect(purchase.detail("points earned") == "125")
            #expect(purchase.detail("available") == "155")

            let refund = try await succeeded(
                laurel.laurelctl(
                    "purchases", "reverse", "--order-id", "order-1", "--amount", "25.10", "--currency", "USD",
                    "--reason", "returned", "--json"))
            let reversal = try refund.json()
            let reversed = Int(reversal["pointsReversed"] as? String ?? "0") ?? 0
            #expect(reversed > 0, "\(refund)")
            #expect(reversal["refundedTotal"] as? [String: String] == ["currencyCode": "USD", "minorUnits": "2510"])
            #expect((reversal["balance"] as? [String: Any])?["available"] as? String == "\(155 - reversed)")
            #expect(refund.stderr.contains("--refund-id cli-"), "a generated refund id is shown for retries")

            let ledger = try await succeeded(laurel.laurelctl("members", "ledger", memberID))
            for kind in ["EARN", "ADJUST", "REVERSE"] { #expect(ledger.stdout.contains(kind), "\(ledger)") }

            let list = try await succeeded(laurel.laurelctl("members", "list", "--all", "--json"))
            let members = try list.json()["members"] as? [[String: Any]]
            #expect(members?.compactMap { $0["memberId"] as? String } == [memberID])
        }
    }

    @Test func rewardsCreateListUpdateThenRedeemAndCancel() async throws {
        try await withCluster { laurel in
            let memberID = try #require(
                try await succeeded(laurel.laurelctl("members", "enroll", "--external-id", "crm-2")).detail("member id"))
            _ = try await succeeded(laurel.laurelctl("members", "adjust", memberID, "--delta", "500", "--reason", "welcome"))

            let created = try await succeeded(
                laurel.laurelctl(
                    "rewards", "create", "--sku", "CAKE", "--name", "Free cake", "--kind", "free-product",
                    "--product-sku", "CAKE-SLICE", "--cost-points", "100", "--stock", "3", "--per-member-limit", "2",
                    "--valid-from", "2020-01-01", "--json"))
            let reward = try #require(try created.json()["reward"] as? [String: Any])
            let rewardID = try #require(reward["rewardId"] as? String)
            #expect(reward["kind"] as? String == "REWARD_KIND_FREE_PRODUCT")
            #expect(reward["costPoints"] as? String == "100")
            #expect(reward["stockAvailable"] as? String == "3")
            #expect(reward["perMemberLimit"] as? Int == 2)
            #expect(reward["validFrom"] as? String == "2020-01-01T00:00:00Z")

            let table = try await succeeded(laurel.laurelctl("rewards", "list"))
            #expect(table.stdout.hasPrefix("REWARD ID"), "\(table)")
            let row = table.stdout.split(separator: "\n").first { $0.hasPrefix(rewardID) }
            #expect(row?.contains("Free cake") == true && row?.contains("FREE_PRODUCT") == true, "\(table)")
            let listed = try await succeeded(laurel.laurelctl("rewards", "list", "--json"))
            #expect((try listed.json()["rewards"] as? [[String: Any]])?.count == 1)

            let updated = try await succeeded(
                laurel.laurelctl(
                    "rewards", "update", rewardID, "--cost-points", "50", "--stock-delta", "2", "--name", "Free slice of cake"))
            #expect(updated.detail("cost points") == "50")
            #expect(updated.detail("stock") == "5 available")
            #expect(updated.detail("name") == "Free slice of cake")
            #expect(updated.detail("per member limit") == "2", "fields not given are unchanged")
            let bySku = try await succeeded(laurel.laurelctl("rewards", "get", "--sku", "CAKE", "--json"))
            #expect((try bySku.json()["reward"] as? [String: Any])?["costPoints"] as? String == "50")

            let redeemed = try await succeeded(
                laurel.laurelctl("redeem", "--member", memberID, "--reward", rewardID, "--idempotency-key", "basket-1"))
            let redemptionID = try #require(redeemed.detail("redemption id"))
            #expect(redeemed.detail("status") == "COMPLETED")
            #expect(redeemed.detail("points spent") == "50")
            #expect(redeemed.detail("voucher code")?.isEmpty == false)
            #expect(redeemed.detail("idempotency key") == "basket-1")
            #expect(try await succeeded(laurel.laurelctl("members", "balance", memberID)).detail("available") == "450")

            let cancelled = try await succeeded(laurel.laurelctl("cancel", redemptionID, "--reason", "changed mind"))
            #expect(cancelled.detail("status") == "CANCELLED")
            #expect(cancelled.detail("cancel reason") == "changed mind")
            let shown = try await succeeded(laurel.laurelctl("redemptions", "get", redemptionID, "--json"))
            #expect((try shown.json()["redemption"] as? [String: Any])?["status"] as? String == "REDEMPTION_STATUS_CANCELLED")
            let history = try await succeeded(laurel.laurelctl("redemptions", "list", "--member", memberID))
            let line = history.stdout.split(separator: "\n").first { $0.hasPrefix(redemptionID) }
            #expect(line?.contains("CANCELLED") == true, "\(history)")
            #expect(try await succeeded(laurel.laurelctl("members", "balance", memberID)).detail("available") == "500")
        }
    }

    @Test func keysCreateListRevoke() async throws {
        try await withCluster { laurel in
            let created = try await succeeded(
                laurel.laurelctl(
                    "keys", "create", "--name", "till system", "--role", "partner", "--partner-id", "acme",
                    "--rate-limit", "10", "--request-id", "key-1"))
            let keyID = try #require(created.detail("key id"))
            let secret = try #require(created.detail("api key"))
            #expect(secret.hasPrefix("lk_\(keyID)_"))
            #expect(created.detail("role") == "PARTNER")
            #expect(created.detail("partner") == "acme")
            #expect(created.detail("rate limit") == "10/s")
            #expect(created.detail("request id") == "key-1")
            #expect(created.stderr.contains("shown this once"))

            let operatorKey = try await succeeded(laurel.laurelctl("keys", "create", "--name", "ops", "--role", "operator", "--json"))
            let response = try operatorKey.json()
            #expect((response["apiKey"] as? String)?.hasPrefix("lk_") == true)
            #expect((response["key"] as? [String: Any])?["role"] as? String == "API_KEY_ROLE_OPERATOR")

            let whoami = try await succeeded(laurel.laurelctl("whoami", apiKey: secret))
            #expect(whoami.detail("key id") == keyID)
            #expect(whoami.detail("role") == "PARTNER")

            let listed = try await succeeded(laurel.laurelctl("keys", "list", "--json"))
            let ids = (try listed.json()["keys"] as? [[String: Any]])?.compactMap { $0["keyId"] as? String } ?? []
            #expect(ids.contains(keyID), "\(listed)")

            let revoked = try await succeeded(laurel.laurelctl("keys", "revoke", keyID))
            #expect(revoked.detail("revoked")?.isEmpty == false, "\(revoked)")
            #expect(try await succeeded(laurel.laurelctl("keys", "list")).stdout.contains(keyID) == false)
            #expect(try await succeeded(laurel.laurelctl("keys", "list", "--include-revoked")).stdout.contains(keyID))

            let refused = try await laurel.laurelctl("whoami", apiKey: secret)
            #expect(refused.status == 1, "\(refused)")
            #expect(refused.stderr.contains("UNAUTHENTICATED"), "\(refused)")
        }
    }

    @Test func failedCallsExitOneWithTheCodeAndReasonOnStandardError() async throws {
        try await withCluster { laurel in
            let missing = try await laurel.laurelctl("members", "get", "mbr_nobody")
            #expect(missing.status == 1, "\(missing)")
            #expect(missing.stdout.isEmpty)
            #expect(missing.stderr.contains("NOT_FOUND"), "\(missing)")
            #expect(missing.stderr.contains("MEMBER_NOT_FOUND"), "\(missing)")

            let json = try await laurel.laurelctl("members", "get", "mbr_nobody", "--json")
            #expect(json.status == 1, "\(json)")
            let error = try json.errorJSON()
            #expect(error["code"] as? String == "NOT_FOUND")
            #expect(error["reason"] as? String == "MEMBER_NOT_FOUND")
            #expect((error["message"] as? String)?.isEmpty == false)
            #expect(error["metadata"] is [String: Any])

            // A mutating call that failed says how to repeat it safely.
            let adjust = try await laurel.laurelctl("members", "adjust", "mbr_nobody", "--delta", "5", "--reason", "test")
            #expect(adjust.status == 1, "\(adjust)")
            #expect(adjust.stderr.contains("--request-id cli-"), "\(adjust)")
        }
    }

    /// Nothing listens at the addresses, so a command that got as far as a
    /// call would fail with UNAVAILABLE and status 1, not 64.
    @Test(arguments: [
        (["purchases", "record", "--member", "m", "--order-id", "o", "--amount", "12.345", "--currency", "USD"], "--amount"),
        (["purchases", "record", "--member", "m", "--order-id", "o", "--amount", "12,34", "--currency", "USD"], "--amount"),
        (["purchases", "record", "--member", "m", "--order-id", "o", "--amount", "12", "--currency", "US"], "--currency"),
        (["purchases", "record", "--member", "m", "--order-id", "o", "--amount", "12", "--currency", "USD", "--line", "TEA:tea:two:1.00"], "--line"),
        (["purchases", "record", "--member", "m", "--order-id", "o", "--amount", "12", "--currency", "USD", "--line", "TEA:tea:2:1.001"], "--line"),
        (["purchases", "reverse", "--order-id", "o", "--amount", "5", "--currency", "USD", "--line", "TEA:1"], "--line"),
        (["purchases", "reverse", "--order-id", "o", "--amount", "5"], "--currency"),
        (["members", "adjust", "m", "--delta", "0", "--reason", "r"], "--delta"),
        (["rewards", "update", "r"], "nothing to change"),
    ])
    func malformedInputIsRefusedBeforeAnyCall(arguments: [String], mentions: String) async throws {
        let nowhere = "127.0.0.1:\(try await closedPort())"
        let run = try await runLaurelctl(arguments + ["--members", nowhere, "--catalog", nowhere, "--redemption", nowhere])
        #expect(run.status == 64, "\(run)")
        #expect(run.stderr.contains(mentions), "\(run)")
    }
}

/// Starts a cluster, runs `body` and always stops the cluster before passing
/// on what `body` threw (a failed `#require` included, which Swift Testing
/// has already recorded and must not be recorded again).
private func withCluster(sourceLocation: SourceLocation = #_sourceLocation, _ body: (LaurelCluster) async throws -> Void) async throws {
    let laurel = try await LaurelCluster.start()
    let outcome: Result<Void, any Error>
    do {
        try await body(laurel)
        outcome = .success(())
    } catch {
        outcome = .failure(error)
    }
    await laurel.stop(sourceLocation: sourceLocation)
    try outcome.get()
}

/// The run, which must have exited 0.
private func succeeded(_ run: LaurelctlRun, sourceLocation: SourceLocation = #_sourceLocation) throws -> LaurelctlRun {
    try #require(run.status == 0, "\(run)", sourceLocation: sourceLocation)
    return run
}

extension LaurelctlTests {
    @Test func programGetSetSweepAndCampaigns() async throws {
        try await withCluster { laurel in
            let got = try await succeeded(laurel.laurelctl("program", "get"))
            #expect(got.detail("version") == "1")
            #expect(got.detail("tier basis") == "assigned by hand")

            // What `program get --json` prints, `program set` reads back.
            var program = try await succeeded(laurel.laurelctl("program", "get", "--json")).json()
            var earn = program["earn"] as? [String: Any] ?? [:]
            earn["categoryMultipliers"] = [["match": "coffee", "multiplierPercent": 300]]
            program["earn"] = earn
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(uniqueKey("program")).json")
            defer { try? FileManager.default.removeItem(at: file) }
            try JSONSerialization.data(withJSONObject: program).write(to: file)
            let set = try await succeeded(laurel.laurelctl("program", "set", "--file", file.path, "--expected-version", "1"))
            #expect(set.detail("version") == "2")
            #expect(set.detail("category coffee") == "300%")
            let stale = try await laurel.laurelctl("program", "set", "--file", file.path, "--expected-version", "1")
            #expect(stale.status == 1, "\(stale)")
            #expect(stale.stderr.contains("PROGRAM_VERSION_CONFLICT"), "\(stale)")

            let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
            let created = try await succeeded(
                laurel.laurelctl(
                    "campaigns", "create", "--id", "double", "--name", "Double points", "--starts", today,
                    "--ends", "2999-01-01", "--multiplier-percent", "200", "--category", "coffee"))
            #expect(created.detail("status") == "ACTIVE")
            #expect(created.detail("reward") == "200% on targeted lines")

            let member = try #require(try await succeeded(laurel.laurelctl("members", "enroll", "--external-id", "cli-p1")).detail("member id"))
            let bought = try await succeeded(
                laurel.laurelctl(
                    "purchases", "record", "--member", member, "--order-id", "cli-o1", "--amount", "10.00", "--currency", "USD",
                    "--line", "LATTE:coffee:2:5.00"))
            // 10 base, +20 for the coffee category, +10 for the campaign.
            #expect(bought.detail("points earned") == "40")
            #expect(bought.detail("programme version") == "2")

            let listed = try await succeeded(laurel.laurelctl("campaigns", "list"))
            #expect(listed.stdout.contains("double"), "\(listed)")
            let ended = try await succeeded(laurel.laurelctl("campaigns", "end", "double"))
            #expect(ended.detail("status") == "ENDED")
            let afterEnd = try await succeeded(laurel.laurelctl("campaigns", "list", "--json")).json()
            #expect((afterEnd["campaigns"] as? [Any])?.isEmpty ?? true)

            let swept = try await succeeded(laurel.laurelctl("program", "sweep"))
            #expect(swept.detail("tiers evaluated") == "0")
        }
    }

    @Test func segmentsAsCSVStatsExportAndErase() async throws {
        try await withCluster { laurel in
            var ids: [String: String] = [:]
            for (name, city) in [("ann", "Lyon"), ("bob", "Paris"), ("o'hara, cat", "Lyon")] {
                let enrolled = try await succeeded(
                    laurel.laurelctl("members", "enroll", "--external-id", "cli-\(ids.count)", "--name", name, "--attribute", "city=\(city)"))
                let id: String = try #require(enrolled.detail("member id"))
                ids[name] = id
            }
            _ = try await succeeded(
                laurel.laurelctl(
                    "purchases", "record", "--member", ids["ann"]!, "--order-id", "cli-seg-1", "--amount", "25.00", "--currency", "USD"))

            // Every page of the segment, quoted where CSV needs it.
            let csv = try await succeeded(laurel.laurelctl("members", "list", "--attribute", "city=Lyon", "--page-size", "1", "--csv"))
            let rows = csv.stdout.split(separator: "\r\n").map(String.init)
            #expect(rows.count == 3, "\(csv)")
            #expect(rows.first?.hasPrefix("member_id,external_id,display_name,email") == true)
            #expect(rows[1].hasPrefix("\(ids["ann"]!),cli-0,ann,"))
            #expect(rows[2].contains(",\"o'hara, cat\","), "\(rows[2])")
            let spenders = try await succeeded(
                laurel.laurelctl("members", "list", "--spend-currency", "USD", "--min-spend", "2500", "--json")).json()
            #expect((spenders["members"] as? [[String: Any]])?.compactMap { $0["memberId"] as? String } == [ids["ann"]!])
            let refused = try await laurel.laurelctl("members", "list", "--min-spend", "1")
            #expect(refused.status != 0)

            let stats = try await succeeded(laurel.laurelctl("stats"))
            #expect(stats.detail("members") == "3", "\(stats)")
            #expect(stats.detail("points issued") == "25", "\(stats)")
            #expect(stats.detail("liability") == "(no point value set)", "\(stats)")
            let statsJSON = try await succeeded(laurel.laurelctl("stats", "--json")).json()
            #expect((statsJSON["program"] as? [String: Any])?["membersTotal"] as? String == "3")
            #expect(statsJSON["catalog"] != nil && statsJSON["redemption"] != nil)

            let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(uniqueKey("export")).json")
            defer { try? FileManager.default.removeItem(at: file) }
            _ = try await succeeded(laurel.laurelctl("members", "export", ids["ann"]!, "--output", file.path))
            let export = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
            let profile = (export["members"] as? [String: Any])?["member"] as? [String: Any]
            #expect(profile?["displayName"] as? String == "ann")

            let erased = try await succeeded(
                laurel.laurelctl("members", "erase", ids["ann"]!, "--reason", "ticket 42", "--request-id", "cli-erase-1"))
            #expect(erased.detail("member id") == ids["ann"]!)
            #expect(erased.detail("request id") == "cli-erase-1")
            let after = try await succeeded(laurel.laurelctl("members", "get", ids["ann"]!))
            #expect(after.detail("name") == "", "\(after)")
            #expect(after.detail("status") == "CLOSED", "\(after)")
            let noReason = try await laurel.laurelctl("members", "erase", ids["bob"]!, "--reason", " ")
            #expect(noReason.status != 0)
        }
    }
}
