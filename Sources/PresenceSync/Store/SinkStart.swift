import Logging
import SQLite

/// Where a sink starts reading the event log, and why: what `EventLog.startOutboxCursor` decided.
public struct SinkStart: Sendable, Equatable {
    /// The sink's cursor: it delivers the events after this history id.
    public var cursor: Int64
    /// What was chosen for a sink seen for the first time (for a notice in the log); nil when it had a cursor.
    public var decision: String?
    /// Set when the requested time is older than the oldest history row kept: the sink starts from that row.
    public var warning: String?

    /// Logs the decision at notice and the warning, if any, for `sink`.
    public func log(sink: String, _ logger: Logger) {
        if let decision { logger.notice("new sink: \(decision)", metadata: ["sink": "\(sink)"]) }
        if let warning { logger.warning("\(warning)", metadata: ["sink": "\(sink)"]) }
    }
}

/// The SQL that places a sink's first cursor as its `startFrom` asks (see `StartFrom`).
enum SinkStarts {
    /// The cursor of `sink`. A sink with a cursor row keeps it, whatever `start` says. A new one without `start`
    /// follows the window rule of `Outbox.cursor` and writes nothing (exactly as before `startFrom`); with
    /// `start`, its cursor row is written now, so that the choice holds across restarts (a `now` chosen at the
    /// first start must not move to a later now at the second). A snapshot also records its `outbox_backfills`
    /// row in the same transaction, so a crash never leaves a cursor without the snapshot that must precede it.
    static func start(
        sink: String, from start: StartFrom?, windowHours: Double, _ db: Connection
    ) throws -> SinkStart {
        try db.inTransaction(.immediate) {
            let existing = try db.cachedStatement("SELECT delivered_through FROM outbox_cursors WHERE sink = ?1")
                .queryOne([.text(sink)]) { $0.int64(0) }
            if let existing { return SinkStart(cursor: existing) }
            guard let start else {
                let cursor = try Outbox.cursor(sink: sink, windowHours: windowHours, db)
                return SinkStart(
                    cursor: cursor,
                    decision: "no startFrom: starts with the events of the last \(windowHours) hours, "
                        + "after history id \(cursor)")
            }
            var result: SinkStart
            switch start {
            case .now:
                let newest = try newestEventID(db)
                result = SinkStart(cursor: newest, decision: "startFrom now: starts after history id \(newest)")
            case .snapshot:
                let asOf = try newestEventID(db)
                let users = try OutboxBackfills.beginSnapshot(sink: sink, asOf: asOf, db)
                result = SinkStart(
                    cursor: asOf,
                    decision: "startFrom snapshot: \(users) users as of history id \(asOf), then the changes after it")
            case .time(let time):
                let (after, oldest) = try firstIDs(from: time, db)
                result = SinkStart(
                    cursor: after, decision: "startFrom \(time.iso8601): starts after history id \(after)")
                if let oldest, oldest > time {
                    result.warning =
                        "startFrom \(time.iso8601) is older than the oldest history row kept (\(oldest.iso8601)); "
                        + "starting from that row"
                }
            }
            try Outbox.advance(sink: sink, through: result.cursor, db)
            return result
        }
    }

    /// The newest event's history id (0 for an empty log): a sink starting after it sees only what comes next.
    static func newestEventID(_ db: Connection) throws -> Int64 {
        try db.cachedStatement(
            "SELECT max(coalesce((SELECT max(id) FROM history), 0), coalesce((SELECT max(history_id) FROM outbox_legacy), 0))"
        ).queryOne { $0.int64(0) } ?? 0
    }

    /// The history id just before the first event at or after `time`, and the time of the oldest row kept (nil
    /// for an empty history). Events carried over in `outbox_legacy` count as they do for the window rule.
    static func firstIDs(from time: Timestamp, _ db: Connection) throws -> (after: Int64, oldest: Timestamp?) {
        let millis = time.millisecondsSinceEpoch
        let legacy = try db.cachedStatement("SELECT min(history_id) FROM outbox_legacy WHERE since >= ?1")
            .queryOne([.text(time.iso8601)]) { $0.isNull(0) ? nil : $0.int64(0) }
        let first = min(try Outbox.firstHistoryID(from: millis, db), legacy.flatMap { $0 } ?? Int64.max)
        let oldest = try db.cachedStatement("SELECT valid_from FROM history ORDER BY id LIMIT 1").queryOne {
            Timestamp(millisecondsSinceEpoch: $0.int64(0))
        }
        return (first - 1, oldest)
    }
}
