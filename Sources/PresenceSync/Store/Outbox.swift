import SQLite

/// The SQL behind the event outbox (`outbox`, `outbox_cursors`), run on the store's queue.
///
/// An outbox row is written in the transaction that appends its history row (`insert`), so a stored change always
/// has its event and an event is never delivered for a change that was rolled back. Each sink keeps a cursor: the
/// highest history id it has delivered. A sink advances its cursor only after the events left it, so a crash
/// between the two re-delivers (same event ids) instead of losing.
enum Outbox {
    /// The outbox columns in the order `record(_:from:)` reads them.
    private static let columns = """
        history_id, user_id, previous_availability, previous_activity, previous_status_message,
        previous_out_of_office, previous_out_of_office_message, previous_work_location, previous_since,
        availability, activity, status_message, out_of_office, out_of_office_message, work_location,
        sequence_number, changed_fields, since
        """

    /// Stores the event of a change just appended to the history; must run inside that transaction.
    static func insert(_ change: ChangeRecord, _ db: Connection) throws {
        let insert = try db.cachedStatement(
            """
            INSERT INTO outbox (\(columns))
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
            """)
        try insert.bind(change.historyID, at: 1)
        try insert.bind(change.userID, at: 2)
        if let previous = change.previous {
            try CurrentRow.bind(previous, to: insert, from: 3)
        } else {
            for index: Int32 in 3...8 { try insert.bind(.null, at: index) }
        }
        try insert.bind(change.previousSince?.iso8601, at: 9)
        try CurrentRow.bind(change.current, to: insert, from: 10)
        try insert.bind(change.sequenceNumber, at: 16)
        try insert.bind(change.changedFields.map(\.rawValue).joined(separator: ","), at: 17)
        try insert.bind(change.since.iso8601, at: 18)
        _ = try insert.step()
        insert.reset()
    }

    /// Up to `limit` events after `historyID`, oldest first; streams from the file, never loads the backlog.
    static func events(after historyID: Int64, limit: Int, _ db: Connection) throws -> [ChangeRecord] {
        let select = try db.cachedStatement(
            "SELECT \(columns) FROM outbox WHERE history_id > ?1 ORDER BY history_id LIMIT ?2")
        var records: [ChangeRecord] = []
        records.reserveCapacity(min(limit, 4096))
        try select.query([.integer(historyID), .integer(Int64(limit))]) { row in records.append(record(row)) }
        return records
    }

    /// Up to `limit` events of `endpoint` an operator requeued, oldest first.
    static func requeued(endpoint: String, limit: Int, _ db: Connection) throws -> [ChangeRecord] {
        let select = try db.cachedStatement(
            """
            SELECT \(columns) FROM outbox
            WHERE history_id IN (SELECT history_id FROM webhook_requeued WHERE endpoint = ?1)
            ORDER BY history_id LIMIT ?2
            """)
        var records: [ChangeRecord] = []
        try select.query([.text(endpoint), .integer(Int64(limit))]) { row in records.append(record(row)) }
        return records
    }

    /// Decodes one row selected with `columns`.
    private static func record(_ row: Row) -> ChangeRecord {
        let previous = row.isNull(2) ? nil : CurrentRow.state(row, from: 2)
        return ChangeRecord(
            historyID: row.int64(0), userID: row.text(1) ?? "", previous: previous,
            previousSince: row.text(8).flatMap(Timestamp.init(iso8601:)), current: CurrentRow.state(row, from: 9),
            sequenceNumber: row.text(15),
            changedFields: PresenceField.list(commaSeparated: row.text(16)),
            since: row.text(17).flatMap(Timestamp.init(iso8601:)) ?? Timestamp(millisecondsSinceEpoch: 0))
    }

    /// The cursor of `sink`; a sink never seen before starts at 0, the start of what the outbox retains.
    static func cursor(sink: String, _ db: Connection) throws -> Int64 {
        let select = try db.cachedStatement("SELECT delivered_through FROM outbox_cursors WHERE sink = ?1")
        return try select.queryOne([.text(sink)]) { $0.int64(0) } ?? 0
    }

    /// Records that `sink` delivered every event up to and including `historyID`. Never moves a cursor back.
    static func advance(sink: String, through historyID: Int64, _ db: Connection) throws {
        try db.cachedStatement(
            """
            INSERT INTO outbox_cursors (sink, delivered_through, updated_at) VALUES (?1, ?2, ?3)
            ON CONFLICT (sink) DO UPDATE SET delivered_through = max(delivered_through, excluded.delivered_through),
                updated_at = excluded.updated_at
            """
        ).execute([.text(sink), .integer(historyID), .text(Timestamp.now().iso8601)])
    }

    /// Deletes events older than `cutoff` that every sink in `sinks` has delivered; returns how many.
    /// Events listed as dead letters are kept so that they can be inspected and requeued.
    ///
    /// With no sinks configured nothing will read the outbox, so age alone decides.
    static func prune(olderThan cutoff: Timestamp, deliveredBy sinks: [String], _ db: Connection) throws -> Int {
        var delivered = Int64.max
        let select = try db.cachedStatement("SELECT delivered_through FROM outbox_cursors WHERE sink = ?1")
        for sink in sinks {
            delivered = min(delivered, try select.queryOne([.text(sink)]) { $0.int64(0) } ?? 0)
        }
        try db.cachedStatement(
            """
            DELETE FROM outbox WHERE history_id <= ?1 AND since < ?2
                AND history_id NOT IN (SELECT history_id FROM webhook_dead_letters)
                AND history_id NOT IN (SELECT history_id FROM webhook_requeued)
            """
        )
        .execute([.integer(delivered), .text(cutoff.iso8601)])
        return db.changes
    }

    /// Events not yet delivered by `sink`, and the time of the oldest of them.
    static func backlog(sink: String, _ db: Connection) throws -> (count: Int, oldest: Timestamp?) {
        let select = try db.cachedStatement(
            """
            SELECT count(*), min(since) FROM outbox
            WHERE history_id > coalesce((SELECT delivered_through FROM outbox_cursors WHERE sink = ?1), 0)
            """)
        return try select.queryOne([.text(sink)]) { row in
            (row.int(0), row.text(1).flatMap(Timestamp.init(iso8601:)))
        } ?? (0, nil)
    }
}

extension PresenceStore {
    /// Up to `limit` outbox events after `historyID`, oldest first.
    public func outboxEvents(after historyID: Int64, limit: Int) async throws(StoreError) -> [ChangeRecord] {
        try await withConnection("reading the outbox") { db in try Outbox.events(after: historyID, limit: limit, db) }
    }

    /// The delivery cursor of `sink` (0 when new).
    public func outboxCursor(sink: String) async throws(StoreError) -> Int64 {
        try await withConnection("reading the cursor of \(sink)") { db in try Outbox.cursor(sink: sink, db) }
    }

    /// Moves the cursor of `sink` forward to `historyID` once those events have been delivered.
    public func advanceOutboxCursor(sink: String, through historyID: Int64) async throws(StoreError) {
        try await withConnection("advancing the cursor of \(sink)") { db in
            try Outbox.advance(sink: sink, through: historyID, db)
        }
    }

    /// Deletes delivered events older than `cutoff` (outbox retention); returns how many.
    @discardableResult
    public func pruneOutbox(olderThan cutoff: Timestamp, deliveredBy sinks: [String]) async throws(StoreError) -> Int {
        try await withConnection("pruning the outbox") { db in
            try db.inTransaction(.immediate) { try Outbox.prune(olderThan: cutoff, deliveredBy: sinks, db) }
        }
    }

    /// Events `sink` has not delivered yet, and the time of the oldest.
    public func outboxBacklog(sink: String) async throws(StoreError) -> (count: Int, oldest: Timestamp?) {
        try await withConnection("measuring the backlog of \(sink)") { db in try Outbox.backlog(sink: sink, db) }
    }
}
