import SQLite

/// The SQL behind event delivery (`outbox_cursors`, and the history read as events), run on the store's queue.
///
/// Since schema 9 the history is the event log: an event is a history row together with the user's previous row,
/// so a stored change always has its event and an event is never delivered for a change that was rolled back.
/// Each sink keeps a cursor: the highest history id it has delivered. A sink advances its cursor only after the
/// events left it, so a crash between the two re-delivers (same event ids) instead of losing. Events whose history
/// row an older version had already pruned wait in `outbox_legacy` (written by the migration) until delivered.
enum Outbox {
    /// The columns of the `outbox` view (and of `outbox_legacy`), in the order `record(_:)` reads them.
    private static let columns = """
        history_id, user_id, previous_availability, previous_activity, previous_status_message,
        previous_out_of_office, previous_out_of_office_message, previous_work_location, previous_since,
        availability, activity, status_message, out_of_office, out_of_office_message, work_location,
        sequence_number, changed_fields, since
        """

    /// Up to `limit` events after `historyID`, oldest first; streams from the file, never loads the backlog.
    ///
    /// Read as the compact rows hold them (codes, milliseconds) and decoded with the store's `vocabulary`, so
    /// neither SQLite nor Swift formats or parses a time or looks a word up per event.
    static func events(
        after historyID: Int64, limit: Int, _ db: Connection, _ vocabulary: inout Vocabulary
    ) throws -> [ChangeRecord] {
        let select = try db.cachedStatement(
            """
            SELECT h.id, k.user_id, h.valid_from, h.sequence_number, h.changed, \(codes("h")), p.valid_from, \(codes("p")),
                   h.previous, h.valid_to
            FROM \(StoreLayout.eventSource) WHERE h.id > ?1 ORDER BY h.id LIMIT ?2
            """)
        var rows:
            [(
                id: Int64, userID: String, since: Int64, sequence: Value, changed: Int64, codes: StateCodes,
                previousSince: Int64?, previous: StateCodes?, previousID: Int64?, validTo: Int64
            )] = []
        rows.reserveCapacity(min(limit, 4096))
        try select.query([.integer(historyID), .integer(Int64(limit))]) { row in
            let hasPrevious = !row.isNull(11)
            rows.append(
                (
                    row.int64(0), row.text(1) ?? "", row.int64(2), row.value(3), row.int64(4), StateCodes(row, from: 5),
                    hasPrevious ? row.int64(11) : nil, hasPrevious ? StateCodes(row, from: 12) : nil,
                    hasPrevious ? row.int64(18) : nil, row.int64(19)
                ))
        }
        var records: [ChangeRecord] = []
        records.reserveCapacity(rows.count)
        for row in rows {
            records.append(
                ChangeRecord(
                    historyID: row.id, userID: row.userID,
                    previous: try row.previous.map { try vocabulary.state($0, db) },
                    previousSince: row.previousSince.map(Timestamp.init(millisecondsSinceEpoch:)),
                    current: try vocabulary.state(row.codes, db),
                    sequenceNumber: StoreLayout.sequenceText(row.sequence),
                    changedFields: StoreLayout.fields(row.changed), since: Timestamp(millisecondsSinceEpoch: row.since),
                    previousHistoryID: row.previousID,
                    validTo: row.validTo == StoreLayout.openValidTo
                        ? nil : Timestamp(millisecondsSinceEpoch: row.validTo))
            )
        }
        let legacy = try db.cachedStatement(
            "SELECT \(columns) FROM outbox_legacy WHERE history_id > ?1 ORDER BY history_id LIMIT ?2")
        var older: [ChangeRecord] = []
        try legacy.query([.integer(historyID), .integer(Int64(limit))]) { row in older.append(record(row)) }
        guard !older.isEmpty else { return records }
        // A migrated event replaces the history's version of it (which lost its previous row to retention).
        let replaced = Set(older.map(\.historyID))
        let merged = records.filter { !replaced.contains($0.historyID) } + older
        return Array(merged.sorted { $0.historyID < $1.historyID }.prefix(limit))
    }

    /// The six state code columns of history row `alias`, in `StateCodes` order.
    private static func codes(_ alias: String) -> String {
        StateCodes.columnNames.map { "\(alias).\($0)" }.joined(separator: ", ")
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

    /// The cursor of `sink`. A sink never seen before starts with the events of the last `windowHours` (the
    /// `events.outboxRetentionHours` window that the old outbox kept), not with the whole history.
    static func cursor(sink: String, windowHours: Double = 24, _ db: Connection) throws -> Int64 {
        let select = try db.cachedStatement("SELECT delivered_through FROM outbox_cursors WHERE sink = ?1")
        if let stored = try select.queryOne([.text(sink)], { $0.int64(0) }) { return stored }
        let now = Timestamp.now().millisecondsSinceEpoch
        let cutoff = now - Int64((max(0, windowHours) * 3_600_000).rounded())
        let legacy = try db.cachedStatement("SELECT min(history_id) FROM outbox_legacy WHERE since >= ?1")
            .queryOne([.text(Timestamp(millisecondsSinceEpoch: cutoff).iso8601)]) { $0.isNull(0) ? nil : $0.int64(0) }
        return min(try firstHistoryID(from: cutoff, db), legacy.flatMap { $0 } ?? Int64.max) - 1
    }

    /// The smallest history id whose row is valid from `cutoff` (milliseconds) or later (the next id when none
    /// is): a binary search over ids, since ids grow with time, in a few dozen lookups whatever the history's size.
    static func firstHistoryID(from cutoff: Int64, _ db: Connection) throws -> Int64 {
        let bounds = try db.cachedStatement("SELECT min(id), max(id) FROM history").queryOne { row in
            row.isNull(0) ? nil : (row.int64(0), row.int64(1))
        }
        guard let bounds, let (first, last) = bounds else { return 1 }
        let at = try db.cachedStatement("SELECT id, valid_from FROM history WHERE id >= ?1 ORDER BY id LIMIT 1")
        var low = first
        var high = last + 1
        while low < high {
            let middle = low + (high - low) / 2
            guard let (id, validFrom) = try at.queryOne([.integer(middle)], { ($0.int64(0), $0.int64(1)) }) else {
                high = middle
                continue
            }
            if validFrom >= cutoff { high = middle } else { low = id + 1 }
        }
        return low
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

    /// Deletes the migrated events of `outbox_legacy` older than `cutoff` that every sink in `sinks` has
    /// delivered; returns how many. Events listed as dead letters or requeued are kept. The events of the history
    /// are not deleted here: they go with their history rows (`HistoryMaintenance`), never before every sink, dead
    /// letter and requeued event is done with them.
    ///
    /// With no sinks configured nothing will read the events, so age alone decides.
    static func prune(olderThan cutoff: Timestamp, deliveredBy sinks: [String], _ db: Connection) throws -> Int {
        let delivered = try deliveredByAll(sinks, db)
        try db.cachedStatement(
            """
            DELETE FROM outbox_legacy WHERE history_id <= ?1 AND since < ?2
                AND history_id NOT IN (SELECT history_id FROM webhook_dead_letters)
                AND history_id NOT IN (SELECT history_id FROM webhook_requeued)
            """
        )
        .execute([.integer(delivered), .text(cutoff.iso8601)])
        return db.changes
    }

    /// The highest history id every sink in `sinks` has delivered (`Int64.max` for no sinks).
    static func deliveredByAll(_ sinks: [String], _ db: Connection) throws -> Int64 {
        var delivered = Int64.max
        let select = try db.cachedStatement("SELECT delivered_through FROM outbox_cursors WHERE sink = ?1")
        for sink in sinks {
            delivered = min(delivered, try select.queryOne([.text(sink)]) { $0.int64(0) } ?? 0)
        }
        return delivered
    }

    /// Events not yet delivered by `sink`, and the time of the oldest of them (history ids grow with time, so the
    /// oldest is the first after the cursor).
    static func backlog(sink: String, windowHours: Double = 24, _ db: Connection) throws -> (
        count: Int, oldest: Timestamp?
    ) {
        let cursor = try self.cursor(sink: sink, windowHours: windowHours, db)
        let select = try db.cachedStatement(
            """
            SELECT (SELECT count(*) FROM history WHERE id > ?1)
                       + (SELECT count(*) FROM outbox_legacy AS l
                          WHERE l.history_id > ?1 AND NOT EXISTS (SELECT 1 FROM history WHERE id = l.history_id)),
                   (SELECT valid_from FROM history WHERE id > ?1 ORDER BY id LIMIT 1),
                   (SELECT min(since) FROM outbox_legacy WHERE history_id > ?1)
            """)
        return try select.queryOne([.integer(cursor)]) { row in
            let newest = row.isNull(1) ? nil : Timestamp(millisecondsSinceEpoch: row.int64(1))
            let legacy = row.text(2).flatMap(Timestamp.init(iso8601:))
            let oldest = [newest, legacy].compactMap { $0 }.min()
            return (row.int(0), oldest)
        } ?? (0, nil)
    }
}

extension PresenceStore {
    /// Up to `limit` outbox events after `historyID`, oldest first.
    public func outboxEvents(after historyID: Int64, limit: Int) async throws(StoreError) -> [ChangeRecord] {
        try await withConnection("reading the outbox") { db in
            try Outbox.events(after: historyID, limit: limit, db, &self.vocabulary)
        }
    }

    /// The delivery cursor of `sink` (0 when new).
    public func outboxCursor(sink: String) async throws(StoreError) -> Int64 {
        try await withConnection("reading the cursor of \(sink)") { db in
            try Outbox.cursor(sink: sink, windowHours: self.newSinkWindowHours, db)
        }
    }

    /// Moves the cursor of `sink` forward to `historyID` once those events have been delivered.
    public func advanceOutboxCursor(sink: String, through historyID: Int64) async throws(StoreError) {
        try await withConnection("advancing the cursor of \(sink)") { db in
            try Outbox.advance(sink: sink, through: historyID, db)
        }
    }

    /// Deletes migrated events older than `cutoff` that every sink delivered (`outbox_legacy`); returns how many.
    @discardableResult
    public func pruneOutbox(olderThan cutoff: Timestamp, deliveredBy sinks: [String]) async throws(StoreError) -> Int {
        try await withConnection("pruning the outbox") { db in
            try db.inTransaction(.immediate) { try Outbox.prune(olderThan: cutoff, deliveredBy: sinks, db) }
        }
    }

    /// Events `sink` has not delivered yet, and the time of the oldest.
    public func outboxBacklog(sink: String) async throws(StoreError) -> (count: Int, oldest: Timestamp?) {
        try await withConnection("measuring the backlog of \(sink)") { db in
            try Outbox.backlog(sink: sink, windowHours: self.newSinkWindowHours, db)
        }
    }
}
