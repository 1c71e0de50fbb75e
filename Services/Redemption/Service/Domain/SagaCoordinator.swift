/// Runs at most one driver per redemption in this process: a repeated request,
/// or recovery, joins the run already under way instead of racing it. The run
/// is not tied to the caller, so a client that hangs up does not stop a saga
/// half way.
actor SagaCoordinator {
    private var running: [String: Task<Redemption, any Error>] = [:]

    func drive(_ id: String, _ work: @escaping @Sendable () async throws -> Redemption) async throws -> Redemption {
        if let task = running[id] { return try await task.value }
        let task = Task { try await work() }
        running[id] = task
        defer { running[id] = nil }
        return try await task.value
    }
}
