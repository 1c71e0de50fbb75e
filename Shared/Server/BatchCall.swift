import GRPCCore
import Logging

/// How one item of a batch call ended.
public enum BatchOutcome<Response: Sendable>: Sendable {
    case done(Response)
    case failed(Laurel_V1_ItemStatus)
}

/// Serves a batch call (HoldPointsBatch, ReserveStockBatch, …). A call costs
/// the transport far more CPU than a hold or a reservation costs the
/// database, so a service composing many redemptions sends its steps
/// together; the items still run exactly as their own calls would.
public enum BatchCall {
    public static let maxItems = 256

    fileprivate static let logger = Logger(label: "laurel.batch")

    /// Runs the items at once, so that their writes share the service's
    /// group commits, each failing alone: one item's failure touches no
    /// other. Items with the same `key` (one member, one reward, one hold)
    /// run one after another in the order of the items, as a partner sending
    /// them as separate calls in that order would see them; only items on
    /// different keys overlap. Outcomes are in the order of the items; each
    /// failure is the status the item's own call would have had.
    public static func outcomes<Item: Sendable, Response: Sendable>(
        _ items: [Item], method: String, key: (Item) -> String,
        _ body: @escaping @Sendable (Item) async throws -> Response
    ) async throws -> [BatchOutcome<Response>] {
        guard items.count <= maxItems else {
            throw InvalidArgument("items", "must have at most \(maxItems) items, got \(items.count)")
        }
        let lanes = Self.lanes(items, key: key)
        return await withTaskGroup(of: [(Int, BatchOutcome<Response>)].self) { group in
            for lane in lanes {
                group.addTask {
                    var ended: [(Int, BatchOutcome<Response>)] = []
                    ended.reserveCapacity(lane.count)
                    for (index, item) in lane {
                        do {
                            ended.append((index, .done(try await body(item))))
                        } catch {
                            ended.append((index, .failed(Laurel_V1_ItemStatus(error, method: method))))
                        }
                    }
                    return ended
                }
            }
            var outcomes = [BatchOutcome<Response>?](repeating: nil, count: items.count)
            for await ended in group {
                for (index, outcome) in ended { outcomes[index] = outcome }
            }
            return outcomes.map { $0! }
        }
    }

    /// The items split by key, each lane in item order, lanes in the order
    /// of their first item.
    static func lanes<Item>(_ items: [Item], key: (Item) -> String) -> [[(Int, Item)]] {
        var laneOfKey: [String: Int] = [:]
        var lanes: [[(Int, Item)]] = []
        for (index, item) in items.enumerated() {
            let k = key(item)
            if let lane = laneOfKey[k] {
                lanes[lane].append((index, item))
            } else {
                laneOfKey[k] = lanes.count
                lanes.append([(index, item)])
            }
        }
        return lanes
    }
}

extension Laurel_V1_ItemStatus {
    /// The status a call of its own would have ended with: the same mapping
    /// as `ErrorMappingInterceptor`, unplanned errors logged with a reference.
    init(_ error: any Error, method: String) {
        self.init()
        switch ErrorMappingInterceptor.map(error, method: method, logger: BatchCall.logger) {
        case let error as any LaurelError:
            code = Int32(error.code.rawValue)
            reason = error.reason
            message = error.message
            metadata = error.metadata
        case let error as RPCError:
            code = Int32(error.code.rawValue)
            message = error.message
            if let info = error.laurelErrorInfo {
                reason = info.reason
                metadata = info.metadata
            }
        case let error as any RPCErrorConvertible:
            code = Int32(error.rpcErrorCode.rawValue)
            message = error.rpcErrorMessage
        default:
            code = Int32(RPCError.Code.internalError.rawValue)
            message = "internal error"
        }
    }
}
