import Logging

/// The optional automatic retention (`history.retentionDays`): the daemon prunes closed history rows older than
/// the retention once at start and then once a day, never the current state nor a row an undelivered event needs.
public struct HistoryRetention: Sendable {
    /// How often the daemon prunes.
    public static let interval = Duration.seconds(86_400)

    private let store: PresenceStore
    private let days: Int
    /// The sinks whose undelivered events keep their history rows (nil: every sink with a cursor in the file).
    private let sinks: @Sendable () -> [String]?
    private let logger: Logger

    public init(store: PresenceStore, days: Int, sinks: @escaping @Sendable () -> [String]? = { nil }, logger: Logger) {
        self.store = store
        self.days = days
        self.sinks = sinks
        self.logger = logger
    }

    /// Prunes now and then every `interval` until cancelled; failures are logged and retried the next day.
    public func run() async {
        await PeriodicTask.run(every: Self.interval) { await pruneOnce() }
    }

    /// One prune of rows closed more than `days` days ago.
    @discardableResult
    public func pruneOnce(now: Timestamp = .now()) async -> PruneResult? {
        let cutoff = Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - Int64(days) * 86_400_000)
        do {
            let result = try await store.pruneHistory(before: cutoff, sinks: sinks())
            logger.info(
                "history pruned",
                metadata: [
                    "retention_days": "\(days)", "cutoff": "\(cutoff)", "rows": "\(result.rowsDeleted)",
                    "pages_reclaimed": "\(result.pagesReclaimed)",
                ])
            return result
        } catch {
            logger.error("pruning the history failed", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
