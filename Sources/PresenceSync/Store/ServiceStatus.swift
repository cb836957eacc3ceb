import Foundation
import SQLite

/// What `presence-sync status` reports: the daemon's health as the database shows it, readable by operators.
///
/// Read in one read-only transaction, so the numbers agree with each other even while the daemon writes. The
/// outbox parts are present only when the file has the outbox tables (schema version 2 and later).
public struct ServiceStatus: Sendable, Equatable, Encodable {
    /// The last recorded poll cycle (`poll_cycles`).
    public struct Cycle: Sendable, Equatable, Encodable {
        /// When the cycle started and finished (ISO-8601 UTC, as stored).
        public var startedAt: String
        public var finishedAt: String
        /// Users asked for, and users Graph answered for.
        public var users: Int
        public var observed: Int
        /// Changes recorded, and users missing from Graph's answers.
        public var changes: Int
        public var missing: Int
        /// Batches skipped this cycle (request failed or answer malformed).
        public var failedBatches: Int
        /// Requests started during the cycle (nil in databases from before schema 11).
        public var requests: Int?
        /// Requests per second over the cycle.
        public var requestsPerSecond: Double?
        /// Share of the app's request budget used (adaptive polling only).
        public var budgetUse: Double?
        /// Seconds the least recently observed user had waited when the sweep ended (adaptive polling only).
        public var stalestSeconds: Double?
    }

    /// Events one outbox reader (standard output, a webhook endpoint) has not taken yet.
    public struct Backlog: Sendable, Equatable, Encodable {
        /// The reader's cursor name (`stdout`, a webhook endpoint).
        public var sink: String
        /// Events stored after the reader's cursor.
        public var pending: Int
        /// When the oldest pending event happened, nil when nothing is pending.
        public var oldestPendingSince: String?
    }

    /// Events a webhook endpoint gave up on.
    public struct DeadLetters: Sendable, Equatable, Encodable {
        /// The webhook endpoint's name.
        public var endpoint: String
        /// Events listed in `webhook_dead_letters` for it.
        public var count: Int
    }

    /// The file read.
    public var database: String
    /// Users with an open tracking period in `users` (rows of `presence_current` in a file that never recorded
    /// tracking): users who left tracking keep their current row but are not counted.
    public var usersTracked: Int
    /// Nil before the first cycle was recorded.
    public var lastCycle: Cycle?
    /// Cycles recorded within the last hour, and the changes they found.
    public var cyclesLastHour: Int
    public var changesLastHour: Int
    /// Per outbox reader; nil when the database has no outbox (older schema).
    public var backlog: [Backlog]?
    /// Per webhook endpoint with dead letters; nil when the database has no dead-letter table.
    public var deadLetters: [DeadLetters]?

    /// Reads the status of the database at `path` (read-only), as of `now`.
    public static func read(path: String, now: Timestamp = .now()) throws(StoreError) -> ServiceStatus {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(
                path: path, operation: "opening", HistoryQueryProblem("no such file (has the daemon run?)"))
        }
        do {
            let db = try Connection(path: path, mode: .readOnly)
            try db.execute("BEGIN")
            defer { try? db.execute("COMMIT") }
            let tables = Set(try strings(db, "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')"))
            guard tables.isSuperset(of: ["presence_current", "poll_cycles"]) else {
                throw HistoryQueryProblem("not a presence-sync database (tables missing)")
            }
            let hourAgo = Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - 3_600_000)
                .iso8601
            var status = ServiceStatus(
                database: path,
                usersTracked: try db.prepare(
                    try HistoryDatabase.recordsTracking(db)
                        ? "SELECT count(DISTINCT user_id) FROM users WHERE tracking_stopped IS NULL"
                        : "SELECT count(*) FROM presence_current"
                ).queryOne { $0.int(0) } ?? 0,
                cyclesLastHour: 0, changesLastHour: 0)
            let hasRates = try strings(db, "SELECT name FROM pragma_table_info('poll_cycles')").contains("requests")
            status.lastCycle = try db.prepare(
                """
                SELECT started_at, finished_at, users, observed, changes, missing, failed_batches,
                       \(hasRates ? "requests, budget_use, stalest_seconds" : "NULL, NULL, NULL"),
                       (julianday(finished_at) - julianday(started_at)) * 86400
                FROM poll_cycles ORDER BY id DESC LIMIT 1
                """
            ).queryOne { row in
                var cycle = Cycle(
                    startedAt: row.text(0) ?? "", finishedAt: row.text(1) ?? "", users: row.int(2),
                    observed: row.int(3), changes: row.int(4), missing: row.int(5), failedBatches: row.int(6))
                if !row.isNull(7) {
                    let requests = row.int(7)
                    cycle.requests = requests
                    let seconds = row.double(10)
                    if seconds > 0 { cycle.requestsPerSecond = Double(requests) / seconds }
                }
                if !row.isNull(8) { cycle.budgetUse = row.double(8) }
                if !row.isNull(9) { cycle.stalestSeconds = row.double(9) }
                return cycle
            }
            try db.prepare(
                "SELECT count(*), coalesce(sum(changes), 0) FROM poll_cycles WHERE started_at >= ?1"
            )
            .query([.text(hourAgo)]) { row in
                status.cyclesLastHour = row.int(0)
                status.changesLastHour = row.int(1)
            }
            if tables.isSuperset(of: ["outbox", "outbox_cursors"]) {
                var backlog: [Backlog] = []
                try db.prepare(
                    """
                    SELECT c.sink, (SELECT count(*) FROM outbox o WHERE o.history_id > c.delivered_through),
                           (SELECT min(o.since) FROM outbox o WHERE o.history_id > c.delivered_through)
                    FROM outbox_cursors c ORDER BY c.sink
                    """
                ).query { row in
                    backlog.append(
                        Backlog(sink: row.text(0) ?? "", pending: row.int(1), oldestPendingSince: row.text(2)))
                }
                status.backlog = backlog
            }
            if tables.contains("webhook_dead_letters") {
                var letters: [DeadLetters] = []
                try db.prepare(
                    "SELECT endpoint, count(*) FROM webhook_dead_letters GROUP BY endpoint ORDER BY endpoint"
                )
                .query { letters.append(DeadLetters(endpoint: $0.text(0) ?? "", count: $0.int(1))) }
                status.deadLetters = letters
            }
            return status
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(path: path, operation: "reading the status", error)
        }
    }

    private static func strings(_ db: Connection, _ sql: String) throws -> [String] {
        var result: [String] = []
        try db.prepare(sql).query { if let text = $0.text(0) { result.append(text) } }
        return result
    }
}
