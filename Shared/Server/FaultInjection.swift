import Foundation

/// Crashes the process at a named point, for recovery tests, when the
/// `LAUREL_FAULT` environment variable names that point:
///
///     LAUREL_FAULT=after:points_held:exit    exit(70) right after that point
///     LAUREL_FAULT=after:points_held:kill    SIGKILL itself, as a power cut would
///
/// Several faults may be given, separated by commas. Unset, every check is a
/// dictionary lookup on an empty dictionary.
public enum FaultInjection {
    public enum Action: String, Sendable {
        case exit
        case kill
    }

    static let configured: [String: Action] = parse(ProcessInfo.processInfo.environment["LAUREL_FAULT"] ?? "")

    static func parse(_ text: String) -> [String: Action] {
        var faults: [String: Action] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":").map(String.init)
            guard parts.count == 3, parts[0] == "after", let action = Action(rawValue: parts[2]) else {
                FileHandle.standardError.write(Data("LAUREL_FAULT: ignoring '\(item)'; expected after:<point>:exit|kill\n".utf8))
                continue
            }
            faults[parts[1]] = action
        }
        return faults
    }

    /// Call right after `point` has happened (and been committed).
    public static func after(_ point: String) {
        guard let action = configured[point] else { return }
        FileHandle.standardError.write(Data("LAUREL_FAULT: \(action.rawValue) after \(point)\n".utf8))
        switch action {
        case .exit: Foundation.exit(70)
        case .kill: Foundation.kill(getpid(), SIGKILL)
        }
    }
}
