import LaurelShared

// A purchase's result as IdempotencyKeys stores it for replay: every
// RecordPurchase writes one on the members writer thread. Version 1 of each
// type is its fields in the order below; a field added later is read only
// when `reader.version` says it was written.

extension PurchaseResult: CompactlyStored {
    public static let compactVersion: UInt8 = 1

    public func write(to writer: inout CompactWriter) {
        writer.write(pointsEarned)
        writer.write(balance)
        writer.write(entries)
        writer.write(earning)
        writer.write(programVersion)
        writer.write(cashback)
    }

    public init(from reader: inout CompactReader) throws {
        self.init(
            pointsEarned: try reader.read(Int64.self), balance: try reader.read(Balance.self),
            entries: try reader.read([LedgerEntry].self), earning: try reader.read(Earning.self),
            programVersion: try reader.read(Int64.self), cashback: try reader.read(Money?.self))
    }
}

extension Balance: CompactlyStored {
    public static let compactVersion: UInt8 = 1

    public func write(to writer: inout CompactWriter) {
        writer.write(memberId)
        writer.write(available)
        writer.write(held)
        writer.write(lifetimeEarned)
        writer.write(debt)
    }

    public init(from reader: inout CompactReader) throws {
        self.init(
            memberId: try reader.read(String.self), available: try reader.read(Int64.self), held: try reader.read(Int64.self),
            lifetimeEarned: try reader.read(Int64.self), debt: try reader.read(Int64.self))
    }
}

extension LedgerEntry: CompactlyStored {
    public static let compactVersion: UInt8 = 1

    public func write(to writer: inout CompactWriter) {
        writer.write(id)
        writer.write(memberId)
        writer.write(kind)
        writer.write(availableDelta)
        writer.write(heldDelta)
        writer.write(availableAfter)
        writer.write(heldAfter)
        writer.write(reference)
        writer.write(reason)
        writer.write(createdAt)
        writer.write(debtDelta)
        writer.write(debtAfter)
        writer.write(rule)
        writer.write(programVersion)
    }

    public init(from reader: inout CompactReader) throws {
        let id = try reader.read(Int64?.self)
        let memberId = try reader.read(String.self)
        let kind = try reader.read(LedgerKind.self)
        self.init(
            memberId: memberId, kind: kind, availableDelta: try reader.read(Int64.self), heldDelta: try reader.read(Int64.self),
            availableAfter: try reader.read(Int64.self), heldAfter: try reader.read(Int64.self),
            reference: try reader.read(String.self), reason: try reader.read(String.self), createdAt: try reader.read(Instant.self),
            debtDelta: try reader.read(Int64.self), debtAfter: try reader.read(Int64.self), rule: try reader.read(String.self),
            programVersion: try reader.read(Int64.self))
        self.id = id
    }
}

extension Earning: CompactlyStored {
    public static let compactVersion: UInt8 = 1

    public func write(to writer: inout CompactWriter) {
        writer.write(lines)
        writer.write(orderRules)
        writer.write(capped)
        writer.write(eligibleSpendMinor)
        writer.write(noPointsReason)
    }

    public init(from reader: inout CompactReader) throws {
        self.init(
            lines: try reader.read([LineEarning].self), orderRules: try reader.read([RulePoints].self),
            capped: try reader.read(Int64.self), eligibleSpendMinor: try reader.read(Int64.self),
            noPointsReason: try reader.read(String.self))
    }
}

extension LineEarning: CompactlyStored {
    public static let compactVersion: UInt8 = 1

    public func write(to writer: inout CompactWriter) {
        writer.write(lineNo)
        writer.write(sku)
        writer.write(rules)
        writer.write(excluded)
    }

    public init(from reader: inout CompactReader) throws {
        self.init(
            lineNo: try reader.read(Int.self), sku: try reader.read(String.self), rules: try reader.read([RulePoints].self),
            excluded: try reader.read(Bool.self))
    }
}

extension RulePoints: CompactlyStored {
    public static let compactVersion: UInt8 = 1

    public func write(to writer: inout CompactWriter) {
        writer.write(rule)
        writer.write(points)
    }

    public init(from reader: inout CompactReader) throws {
        self.init(rule: try reader.read(String.self), points: try reader.read(Int64.self))
    }
}

extension Money: CompactlyStored {
    public static let compactVersion: UInt8 = 1

    public func write(to writer: inout CompactWriter) {
        writer.write(currency.code)
        writer.write(minorUnits)
    }

    public init(from reader: inout CompactReader) throws {
        let code = try reader.read(String.self)
        guard let currency = try? Currency(code) else { throw CompactForm.Malformed() }
        self.init(currency: currency, minorUnits: try reader.read(Int64.self))
    }
}
