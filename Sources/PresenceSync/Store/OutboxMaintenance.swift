import Foundation
import SQLite

/// One sink's delivery state, for `presence-sync outbox status`.
public struct OutboxSinkStatus: Sendable, Equatable {
    /// The cursor name: `stdout` or `webhook:<name>`.
    public var sink: String
    /// Every event with a history id up to this one has left through the sink.
    public var deliveredThrough: Int64
    /// Events not yet delivered.
    public var backlog: Int
    /// The time of the oldest undelivered event.
    public var oldestPending: Timestamp?
    /// Events the endpoint gave up on (webhooks only).
    public var deadLetters: Int
    /// Why the endpoint is disabled (410 Gone), nil when active.
    public var disabledReason: String?
    /// The snapshot or replay the sink is sending, if any.
    public var backfill: OutboxBackfill? = nil
    /// How many users (snapshot) or events (replay) of `backfill` have been sent.
    public var backfillSent = 0
}

/// One dead letter, for `presence-sync outbox list --dead`.
public struct DeadLetter: Sendable, Equatable {
    /// The endpoint's configured name.
    public var endpoint: String
    /// The event's history row (its id is `<instance id>:<historyID>`).
    public var historyID: Int64
    public var userID: String
    /// Attempts made before giving up.
    public var attempts: Int
    /// The last failure (`HTTP 422`, a timeout ...), never a header or a secret.
    public var lastError: String
    /// When it was given up on (ISO-8601 UTC).
    public var failedAt: String
}

/// The operator's view of the outbox, through its own connection; safe while the daemon runs.
public enum OutboxMaintenance {
    /// Delivery state of each sink in `sinks` (cursor names).
    public static func status(
        path: String, sinks: [String], newSinkWindowHours: Double = 24
    ) throws(StoreError) -> [OutboxSinkStatus] {
        try withConnection(path: path, operation: "reading the outbox status", mode: .readOnly) { db in
            try sinks.map { sink in
                let endpoint = sink.hasPrefix("webhook:") ? String(sink.dropFirst(8)) : nil
                let backlog = try Outbox.backlog(sink: sink, windowHours: newSinkWindowHours, db)
                let dead =
                    try endpoint.map { name in
                        try db.prepare("SELECT count(*) FROM webhook_dead_letters WHERE endpoint = ?1")
                            .queryOne([.text(name)]) { $0.int(0) } ?? 0
                    } ?? 0
                let disabled = try endpoint.flatMap { name in
                    try db.prepare("SELECT reason FROM webhook_endpoints_disabled WHERE endpoint = ?1")
                        .queryOne([.text(name)]) { $0.text(0) } ?? nil
                }
                let backfill = try OutboxBackfills.active(sink: sink, db)
                return OutboxSinkStatus(
                    sink: sink, deliveredThrough: try Outbox.cursor(sink: sink, windowHours: newSinkWindowHours, db),
                    backlog: backlog.count,
                    oldestPending: backlog.oldest, deadLetters: dead, disabledReason: disabled, backfill: backfill,
                    backfillSent: try backfill.map { try OutboxBackfills.sent($0, db) } ?? 0)
            }
        }
    }

    /// The cursor of one sink: every event up to this history id was delivered (a cheap read, unlike `status`).
    public static func deliveredThrough(path: String, sink: String) throws(StoreError) -> Int64 {
        try withConnection(path: path, operation: "reading the cursor of \(sink)", mode: .readOnly) { db in
            try Outbox.cursor(sink: sink, db)
        }
    }

    /// Dead letters, oldest first, of one endpoint or of all.
    public static func deadLetters(path: String, endpoint: String?) throws(StoreError) -> [DeadLetter] {
        try withConnection(path: path, operation: "listing dead letters", mode: .readOnly) { db in
            var letters: [DeadLetter] = []
            try db.prepare(
                """
                SELECT endpoint, history_id, user_id, attempts, last_error, failed_at FROM webhook_dead_letters
                WHERE ?1 IS NULL OR endpoint = ?1 ORDER BY failed_at, history_id
                """
            ).query([endpoint.map { .text($0) } ?? .null]) { row in
                letters.append(
                    DeadLetter(
                        endpoint: row.text(0) ?? "", historyID: row.int64(1), userID: row.text(2) ?? "",
                        attempts: row.int(3), lastError: row.text(4) ?? "", failedAt: row.text(5) ?? ""))
            }
            return letters
        }
    }

    /// Deletes events older than `cutoff` that every sink in `sinks` has delivered; returns how many.
    public static func purge(path: String, deliveredBefore cutoff: Timestamp, sinks: [String]) throws(StoreError) -> Int
    {
        try withConnection(path: path, operation: "purging the outbox", mode: .readWrite) { db in
            try db.inTransaction(.immediate) { try Outbox.prune(olderThan: cutoff, deliveredBy: sinks, db) }
        }
    }

    /// Requeues the dead letters of one endpoint (or of all): the running daemon sends them again within
    /// seconds, outside the per-user order (they are older than what was delivered since). Returns how many.
    /// Re-enables an endpoint a 410 disabled; returns the reason it had been disabled for (nil: it was not).
    /// A running daemon notices within seconds and resumes from the endpoint's cursor.
    public static func enableEndpoint(path: String, endpoint: String) throws(StoreError) -> String? {
        try withConnection(path: path, operation: "re-enabling \(endpoint)", mode: .readWrite) { db in
            try db.inTransaction(.immediate) {
                let reason =
                    try db.prepare("SELECT reason FROM webhook_endpoints_disabled WHERE endpoint = ?1")
                    .queryOne([.text(endpoint)]) { $0.text(0) } ?? nil
                try db.prepare("DELETE FROM webhook_endpoints_disabled WHERE endpoint = ?1").execute([.text(endpoint)])
                return reason
            }
        }
    }

    public static func requeueDeadLetters(path: String, endpoint: String?) throws(StoreError) -> Int {
        try withConnection(path: path, operation: "requeueing dead letters", mode: .readWrite) { db in
            try db.inTransaction(.immediate) {
                let filter: [Value] = [endpoint.map { .text($0) } ?? .null]
                try db.prepare(
                    """
                    INSERT OR IGNORE INTO webhook_requeued (endpoint, history_id)
                    SELECT endpoint, history_id FROM webhook_dead_letters WHERE ?1 IS NULL OR endpoint = ?1
                    """
                ).execute(filter)
                try db.prepare("DELETE FROM webhook_dead_letters WHERE ?1 IS NULL OR endpoint = ?1").execute(filter)
                return db.changes
            }
        }
    }

    private static func withConnection<T>(
        path: String, operation: String, mode: OpenMode, _ body: (Connection) throws -> T
    ) throws(StoreError) -> T {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(path: path, operation: operation, HistoryQueryProblem("no such file"))
        }
        do {
            let connection = try Connection(path: path, mode: mode, busyTimeoutMilliseconds: 10_000)
            defer { try? connection.close() }
            return try body(connection)
        } catch {
            throw StoreError(path: path, operation: operation, error)
        }
    }
}

extension OutboxMaintenance {
    /// The snapshot or replay `sink` is sending, if any (a cheap read, unlike `status`).
    public static func backfill(path: String, sink: String) throws(StoreError) -> OutboxBackfill? {
        try withConnection(path: path, operation: "reading the backfill of \(sink)", mode: .readOnly) { db in
            try OutboxBackfills.active(sink: sink, db)
        }
    }

    /// Records a replay for `sink` (a cursor name) in the file at `path`: the daemon, running or started later,
    /// re-sends the history from `since` up to where the sink's cursor is now, beside its live events. A newer
    /// request replaces an unfinished one. Nil when there is nothing to re-send.
    public static func requestReplay(
        path: String, sink: String, since: Timestamp, newSinkWindowHours: Double = 24
    ) throws(StoreError) -> ReplayRequest? {
        try withConnection(path: path, operation: "recording a replay for \(sink)", mode: .readWrite) { db in
            try Migrator(Schema.migrations).migrate(db)
            return try OutboxBackfills.beginReplay(sink: sink, since: since, windowHours: newSinkWindowHours, db)
                .map { ReplayRequest(backfill: $0.backfill, oldestKept: $0.oldest) }
        }
    }
}
