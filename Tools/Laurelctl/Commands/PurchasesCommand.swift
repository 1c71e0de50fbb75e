import ArgumentParser
import LaurelShared

struct PurchasesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purchases",
        abstract: "Record purchases (which earn points) and reverse them for refunds.",
        subcommands: [Record.self, Reverse.self])

    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a purchase. The order id is the idempotency key: repeating the command is safe.")

        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("member"), help: "The member id.") var memberID: String
        @Option(name: .customLong("order-id"), help: "Your order identifier; unique.") var orderID: String
        @Option(help: "The amount in major units, e.g. 12.34.") var amount: String
        @Option(help: "ISO 4217 code, e.g. USD.") var currency: String
        @Option(
            name: .customLong("line"),
            help: ArgumentHelp(
                "A line of the order, its unit price in major units; repeatable.",
                valueName: "sku:category:quantity:unit_price"))
        var lines: [PurchaseLineArgument] = []
        @Option(name: .customLong("occurred-at"), help: "When it happened (RFC 3339); default: now.")
        var occurredAt: TimestampArgument?

        func validate() throws { _ = try request() }

        /// Built in `validate` too, so that a malformed amount stops the
        /// command before any call.
        func request() throws -> Laurel_V1_RecordPurchaseRequest {
            let unit = try Currency.parse(self.currency)
            let total = try Laurel_V1_Money(parseAmount(amount, currency: unit, flag: "--amount"))
            let lines = try self.lines.map { try $0.line(currency: unit) }
            return .with {
                $0.memberID = memberID
                $0.orderID = orderID
                $0.amount = total
                $0.lines = lines
                if let occurredAt { $0.occurredAt = occurredAt.timestamp }
            }
        }

        func run() async throws {
            let request = try request()
            try await global.run { laurel, output in
                let response = try await laurel.members { try await $0.recordPurchase(request, options: laurel.call) }
                var rows = [("order id", orderID), ("amount", request.amount.display), ("points earned", "\(response.pointsEarned)")]
                rows += response.entries.map { ("points by \($0.rule)", "\($0.availableDelta - $0.debtDelta) (entry \($0.entryID))") }
                if response.pointsCapped > 0 { rows += [("capped", "\(response.pointsCapped)")] }
                if !response.noPointsReason.isEmpty { rows += [("no points because", response.noPointsReason)] }
                if response.hasCashback { rows += [("cashback", response.cashback.display)] }
                rows += [("programme version", "\(response.programVersion)")]
                try output.show(response, .details(rows + response.balance.detailRows))
            }
        }
    }

    struct Reverse: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take back the points of a refunded purchase: an amount, or refunded lines.",
            discussion: """
                Give either --amount with --currency (the purchase's), or one --line per refunded SKU. \
                Several partial refunds may follow one another, each with its own refund id.
                """)

        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("order-id"), help: "The order id the purchase was recorded with.") var orderID: String
        @Option(name: .customLong("refund-id"), help: "Idempotency key of this refund; a new one by default.")
        var refundID: String?
        @Option(help: "The refunded amount in major units, e.g. 5.00.") var amount: String?
        @Option(help: "ISO 4217 code of --amount.") var currency: String?
        @Option(name: .customLong("line"), help: ArgumentHelp("A refunded line; repeatable.", valueName: "sku:quantity"))
        var lines: [RefundedLineArgument] = []
        @Option(help: "Why; kept with the refund.") var reason: String?

        func validate() throws { _ = try request(refundID: "") }

        func request(refundID: String) throws -> Laurel_V1_ReversePurchaseRequest {
            var request = Laurel_V1_ReversePurchaseRequest.with {
                $0.orderID = orderID
                $0.refundID = refundID
                $0.lines = lines.map(\.line)
                $0.reason = reason ?? ""
            }
            switch (amount, currency, lines.isEmpty) {
            case (let amount?, let currency?, true):
                request.amount = try Laurel_V1_Money(
                    parseAmount(amount, currency: Currency.parse(currency), flag: "--amount"))
            case (nil, nil, false):
                break
            case (_?, nil, _), (nil, _?, _):
                throw ValidationError("--amount and --currency go together")
            default:
                throw ValidationError("give either --amount with --currency, or one --line per refunded SKU")
            }
            return request
        }

        func run() async throws {
            let refundID = IdempotencyKey(flag: "--refund-id", given: refundID)
            let request = try request(refundID: refundID.value)
            try await global.run(idempotencyKey: refundID) { laurel, output in
                let response = try await laurel.members { try await $0.reversePurchase(request, options: laurel.call) }
                var rows = [
                    ("order id", orderID), ("refund id", refundID.value),
                    ("points reversed", "\(response.pointsReversed)"),
                    ("refunded so far", response.refundedTotal.display),
                ]
                rows += response.entries.map { ("reversed \($0.rule)", "\($0.debtDelta - $0.availableDelta) (entry \($0.entryID))") }
                if response.hasCashbackReversed { rows += [("cashback reversed", response.cashbackReversed.display)] }
                try output.show(response, .details(rows + response.balance.detailRows))
            }
        }
    }
}
