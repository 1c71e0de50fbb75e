import LaurelShared

// A reservation's result as IdempotencyKeys stores it for replay: every
// saga's reservation writes one on the catalog writer thread (7.1 % of the
// catalog during Redeem as JSON), and a created or updated reward stores a
// `Reward`. Version 1 of each type is its fields in the order below.

extension ReserveResult: CompactlyStored {
    public static let compactVersion: UInt8 = 1

    public func write(to writer: inout CompactWriter) {
        writer.write(reservation)
        writer.write(reward)
    }

    public init(from reader: inout CompactReader) throws {
        self.init(reservation: try reader.read(Reservation.self), reward: try reader.read(Reward.self))
    }
}

extension Reservation: CompactlyStored {
    public static let compactVersion: UInt8 = 1

    public func write(to writer: inout CompactWriter) {
        writer.write(id)
        writer.write(rewardId)
        writer.write(quantity)
        writer.write(status)
        writer.write(unitCostPoints)
        writer.write(createdAt)
        writer.write(expiresAt)
        writer.write(settledAt)
        writer.write(memberId)
    }

    public init(from reader: inout CompactReader) throws {
        self.init(
            id: try reader.read(String.self), rewardId: try reader.read(String.self), quantity: try reader.read(Int64.self),
            status: try reader.read(ReservationStatus.self), unitCostPoints: try reader.read(Int64.self),
            createdAt: try reader.read(Instant.self), expiresAt: try reader.read(Instant.self), settledAt: try reader.read(Instant?.self),
            memberId: try reader.read(String?.self))
    }
}

extension Reward: CompactlyStored {
    public static let compactVersion: UInt8 = 1

    public func write(to writer: inout CompactWriter) {
        writer.write(seq)
        writer.write(id)
        writer.write(sku)
        writer.write(name)
        writer.write(description)
        writer.write(kind)
        writer.write(costPoints)
        writer.write(unlimitedStock)
        writer.write(stockAvailable)
        writer.write(stockReserved)
        writer.write(stockCommitted)
        writer.write(validFrom)
        writer.write(validUntil)
        writer.write(active)
        writer.write(archived)
        writer.write(discountPercent)
        writer.write(valueCurrency)
        writer.write(valueMinor)
        writer.write(productSku)
        writer.write(createdAt)
        writer.write(updatedAt)
        writer.write(perMemberLimit)
        writer.write(minTier)
    }

    public init(from reader: inout CompactReader) throws {
        self.init(
            seq: try reader.read(Int64?.self), id: try reader.read(String.self), sku: try reader.read(String.self),
            name: try reader.read(String.self), description: try reader.read(String.self), kind: try reader.read(RewardKind.self),
            costPoints: try reader.read(Int64.self), unlimitedStock: try reader.read(Bool.self),
            stockAvailable: try reader.read(Int64.self), stockReserved: try reader.read(Int64.self),
            stockCommitted: try reader.read(Int64.self), validFrom: try reader.read(Instant?.self),
            validUntil: try reader.read(Instant?.self), active: try reader.read(Bool.self), archived: try reader.read(Bool.self),
            discountPercent: try reader.read(Int.self), valueCurrency: try reader.read(String?.self),
            valueMinor: try reader.read(Int64?.self), productSku: try reader.read(String?.self),
            createdAt: try reader.read(Instant.self), updatedAt: try reader.read(Instant.self),
            perMemberLimit: try reader.read(Int.self), minTier: try reader.read(String?.self))
    }
}
