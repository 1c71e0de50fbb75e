import LaurelShared

// A hold's result as IdempotencyKeys stores it for replay: every saga's
// hold writes one on the members writer thread (5.5 % of members during
// Redeem as JSON). Version 1 of each type is its fields in the order below.

extension HoldResult: CompactlyStored {
    public static let compactVersion: UInt8 = 1

    public func write(to writer: inout CompactWriter) {
        writer.write(hold)
        writer.write(balance)
    }

    public init(from reader: inout CompactReader) throws {
        self.init(hold: try reader.read(Hold.self), balance: try reader.read(Balance.self))
    }
}

extension Hold: CompactlyStored {
    public static let compactVersion: UInt8 = 1

    public func write(to writer: inout CompactWriter) {
        writer.write(id)
        writer.write(memberId)
        writer.write(points)
        writer.write(status)
        writer.write(reason)
        writer.write(createdAt)
        writer.write(expiresAt)
        writer.write(settledAt)
        writer.write(redemptionId)
        writer.write(currencyCode)
    }

    public init(from reader: inout CompactReader) throws {
        self.init(
            id: try reader.read(String.self), memberId: try reader.read(String.self), points: try reader.read(Int64.self),
            status: try reader.read(HoldStatus.self), reason: try reader.read(String.self), createdAt: try reader.read(Instant.self),
            expiresAt: try reader.read(Instant.self), settledAt: try reader.read(Instant?.self),
            redemptionId: try reader.read(String.self), currencyCode: try reader.read(String.self))
    }
}
