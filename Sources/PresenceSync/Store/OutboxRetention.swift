import Logging

/// Prunes delivered events from the outbox (`events.outboxRetentionHours`): at start and then every
/// `interval`, rows that every active sink has delivered and that are older than the retention are deleted.
/// Undelivered rows are never pruned, however old.
public struct OutboxRetention: Sendable {
    /// How often the daemon prunes.
    public static let interval = Duration.seconds(600)

    private let store: PresenceStore
    private let hours: Double
    private let sinks: @Sendable () -> [String]
    private let logger: Logger

    /// - Parameter sinks: the cursor names of the sinks that read the outbox now (stdout, webhook endpoints); asked
    ///   at every prune because a reload may add or remove sinks.
    public init(store: PresenceStore, hours: Double, sinks: @escaping @Sendable () -> [String], logger: Logger) {
        self.store = store
        self.hours = hours
        self.sinks = sinks
        self.logger = logger
    }

    /// Prunes now and then every `interval` until cancelled; failures are logged and retried next time.
    public func run() async {
        await PeriodicTask.run(every: Self.interval) { await pruneOnce() }
    }

    /// One prune; returns the number of rows deleted (nil when it failed).
    @discardableResult
    public func pruneOnce(now: Timestamp = .now()) async -> Int? {
        let cutoff = Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - Int64(hours * 3_600_000))
        do {
            let rows = try await store.pruneOutbox(olderThan: cutoff, deliveredBy: sinks())
            if rows > 0 { logger.info("outbox pruned", metadata: ["rows": "\(rows)", "cutoff": "\(cutoff)"]) }
            return rows
        } catch {
            logger.error("pruning the outbox failed", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
