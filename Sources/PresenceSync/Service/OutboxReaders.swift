import Synchronization

/// The outbox readers running in the daemon (standard output, one per webhook endpoint), replaceable on reload.
///
/// At start and on every reload the daemon describes the readers it wants (`Plan`). A reader whose settings did
/// not change keeps running untouched (cursor, lanes, retries in flight). A removed or changed one is cancelled
/// and awaited, which saves its cursor, so a changed endpoint resumes where the old one stopped (at least once,
/// same webhook-ids). New ones start from their cursor in the database: an endpoint seen for the first time
/// receives what is still in the outbox (the retention window).
///
/// Readers run as tasks of their own rather than in the daemon's task group because their set changes while the
/// daemon runs; `stopAll()` at shutdown cancels and awaits them.
final class OutboxReaders: Sendable {
    /// One wanted reader.
    struct Plan: Sendable {
        /// The cursor name (`stdout`, `webhook:<name>`).
        let name: String
        /// Equal settings mean the running reader stays.
        let settings: Settings
        let make: @Sendable () -> any OutboxReader
    }

    /// What a reader was made from; secrets are compared as key bytes so a rotated secret file is picked up.
    enum Settings: Sendable, Equatable {
        case standardOutput(stdout: Bool)
        case webhook(WebhookEndpoint, secretKeys: [[UInt8]])
        case postgresql(PostgresMirrorSettings)
    }

    private struct Running: Sendable {
        let settings: Settings
        let reader: any OutboxReader
        let task: Task<Void, Never>
    }

    private let running = Mutex<[String: Running]>([:])

    /// The cursor names of the running readers (what outbox retention must wait for).
    var names: [String] { running.withLock { $0.keys.sorted() } }

    /// The running reader called `name`, if any.
    func reader(named name: String) -> (any OutboxReader)? { running.withLock { $0[name]?.reader } }

    /// Wakes every running reader (new events were committed).
    func notifyAll() {
        for reader in running.withLock({ $0.values.map(\.reader) }) { reader.notify() }
    }

    /// Makes the running set match `plans`; returns the names stopped and started (for the log).
    @discardableResult
    func apply(_ plans: [Plan]) async -> (stopped: [String], started: [String]) {
        let wanted = Dictionary(plans.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let retiring: [Running] = running.withLock { running in
            let names = running.keys.filter { name in wanted[name]?.settings != running[name]?.settings }
            return names.compactMap { running.removeValue(forKey: $0) }
        }
        var stopped: [String] = []
        for old in retiring {
            old.task.cancel()
            await old.task.value
            stopped.append(old.reader.name)
        }
        var started: [String] = []
        running.withLock { running in
            for plan in plans where running[plan.name] == nil {
                let reader = plan.make()
                running[plan.name] = Running(settings: plan.settings, reader: reader, task: Task { await reader.run() })
                started.append(plan.name)
            }
        }
        return (stopped.sorted(), started.sorted())
    }

    /// Cancels every reader and waits until each has saved its cursor and stopped.
    func stopAll() async { await apply([]) }
}
