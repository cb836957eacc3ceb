import SQLite

/// The SQL of `outbox_backfills` (migration 12): snapshots and replays of one sink, read in pages from the file.
///
/// A snapshot is consistent as of one history id T: each tracked user's state is its newest history row with an id
/// up to T (its current row, or, if it changed since, the `previous` chain walked back to T). Those rows stay while
/// the snapshot runs: the sink's cursor stays at T until the snapshot is done, and retention keeps every row an
/// event after a cursor refers to as its previous state. Users are read in `current` key order, so the position is
/// a user key and a restart resumes after the last page delivered.
///
/// A replay re-reads the event log between two ids (`Outbox.events`), marked as replayed; retention keeps its rows
/// (`HistoryMaintenance.deleteClosedRows` counts a replay's position as a cursor).
enum OutboxBackfills {
    static let columns = "sink, kind, requested_at, first_id, through_id, position, total, since"

    /// The users a snapshot sends, over `current AS c CROSS JOIN user_keys AS k`: those tracked now (an open period
    /// in `users`), or everyone with a state when `users` is empty (a store fed without user resolution).
    static let tracked = """
        (NOT EXISTS (SELECT 1 FROM users)
            OR EXISTS (SELECT 1 FROM users AS u WHERE u.user_id = k.user_id AND u.tracking_stopped IS NULL))
        """

    /// Records a snapshot of every tracked user as of history id `asOf` for `sink` (replacing any unfinished
    /// backfill: only a replay requested before the sink's first start can be there, for a consumer that has
    /// received nothing yet and now gets every user's state instead); returns how many users it will send.
    static func beginSnapshot(sink: String, asOf: Int64, _ db: Connection) throws -> Int {
        let users =
            try db.cachedStatement(
                "SELECT count(*) FROM current AS c CROSS JOIN user_keys AS k ON k.key = c.user WHERE \(tracked)"
            ).queryOne { $0.int(0) } ?? 0
        try insert(
            OutboxBackfill(
                sink: sink, kind: .snapshot, requestedAt: Timestamp.now().millisecondsSinceEpoch, first: 0,
                through: asOf, position: 0, total: users, since: nil), db)
        return users
    }

    /// Records a replay of the history from `since` up to `sink`'s cursor (replacing any unfinished backfill); nil
    /// when there is nothing to re-send. `windowHours` is the window rule for a sink without a cursor.
    static func beginReplay(
        sink: String, since: Timestamp, windowHours: Double, _ db: Connection
    ) throws -> (backfill: OutboxBackfill, oldest: Timestamp?)? {
        try db.inTransaction(.immediate) {
            let through = try Outbox.cursor(sink: sink, windowHours: windowHours, db)
            let (after, oldest) = try SinkStarts.firstIDs(from: since, db)
            guard after < through else { return nil }
            let rows =
                try db.cachedStatement("SELECT count(*) FROM history WHERE id > ?1 AND id <= ?2")
                .queryOne([.integer(after), .integer(through)]) { $0.int(0) } ?? 0
            let backfill = OutboxBackfill(
                sink: sink, kind: .replay, requestedAt: Timestamp.now().millisecondsSinceEpoch, first: after,
                through: through, position: after, total: rows, since: since)
            try insert(backfill, db)
            return (backfill, oldest)
        }
    }

    private static func insert(_ backfill: OutboxBackfill, _ db: Connection) throws {
        try db.cachedStatement(
            "INSERT OR REPLACE INTO outbox_backfills (\(columns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        )
        .execute([
            .text(backfill.sink), .text(backfill.kind.rawValue), .integer(backfill.requestedAt),
            .integer(backfill.first), .integer(backfill.through), .integer(backfill.position),
            .integer(Int64(backfill.total)), backfill.since.map { .text($0.iso8601) } ?? .null,
        ])
    }

    /// The unfinished backfill of `sink`, if any.
    static func active(sink: String, _ db: Connection) throws -> OutboxBackfill? {
        try db.cachedStatement("SELECT \(columns) FROM outbox_backfills WHERE sink = ?1").queryOne([.text(sink)]) {
            row in
            OutboxBackfill(
                sink: row.text(0) ?? "", kind: OutboxBackfill.Kind(rawValue: row.text(1) ?? "") ?? .replay,
                requestedAt: row.int64(2), first: row.int64(3), through: row.int64(4), position: row.int64(5),
                total: row.int(6), since: row.text(7).flatMap(Timestamp.init(iso8601:)))
        }
    }

    /// How many users (snapshot) or history rows (replay) of `backfill` were sent: counted over the position's
    /// range of a primary key, some milliseconds even at 100,000 users.
    static func sent(_ backfill: OutboxBackfill, _ db: Connection) throws -> Int {
        let sql =
            backfill.kind == .snapshot
            ? "SELECT count(*) FROM current AS c CROSS JOIN user_keys AS k ON k.key = c.user WHERE c.user <= ?2 AND ?1 = ?1 AND \(tracked)"
            : "SELECT count(*) FROM history WHERE id > ?1 AND id <= ?2"
        return try db.cachedStatement(sql).queryOne([.integer(backfill.first), .integer(backfill.position)]) {
            $0.int(0)
        } ?? 0
    }

    /// Records that every event of `backfill` up to `position` was delivered; the last page (`finished`) deletes
    /// the row. Matched on the request time, so a finishing old request never touches a newer one.
    static func advance(_ backfill: OutboxBackfill, to position: Int64, finished: Bool, _ db: Connection) throws {
        let key: [Value] = [.text(backfill.sink), .integer(backfill.requestedAt)]
        if finished {
            try db.cachedStatement("DELETE FROM outbox_backfills WHERE sink = ?1 AND requested_at = ?2").execute(key)
        } else {
            try db.cachedStatement(
                "UPDATE outbox_backfills SET position = max(position, ?3) WHERE sink = ?1 AND requested_at = ?2"
            ).execute(key + [.integer(position)])
        }
    }

    /// The next page of `backfill` after `position` (at most `limit` records).
    static func page(
        _ backfill: OutboxBackfill, after position: Int64, limit: Int, _ db: Connection,
        _ vocabulary: inout Vocabulary
    ) throws -> BackfillPage {
        switch backfill.kind {
        case .replay:
            var records = try Outbox.events(after: position, limit: limit, db, &vocabulary)
                .filter { $0.historyID <= backfill.through }
            for index in records.indices { records[index].origin = backfill.origin }
            return BackfillPage(
                records: records, position: records.last?.historyID ?? position, finished: records.isEmpty)
        case .snapshot:
            return try snapshotPage(asOf: backfill.through, after: position, limit: limit, db, &vocabulary)
        }
    }

    /// Up to `limit` tracked users after user key `position`, each with its state as of history id `asOf`. Users
    /// first seen after `asOf` have no state then and are left out (their first change follows live).
    ///
    /// "Tracked" (`tracked`) is read now: a user who stopped being tracked during the snapshot is not sent.
    static func snapshotPage(
        asOf: Int64, after position: Int64, limit: Int, _ db: Connection, _ vocabulary: inout Vocabulary
    ) throws -> BackfillPage {
        let users = try db.cachedStatement(
            """
            SELECT c.user, k.user_id, c.history_id FROM current AS c CROSS JOIN user_keys AS k ON k.key = c.user
            WHERE c.user > ?1 AND \(tracked) ORDER BY c.user LIMIT ?2
            """)
        var page: [(key: Int64, userID: String, historyID: Int64)] = []
        try users.query([.integer(position), .integer(Int64(limit))]) { row in
            page.append((row.int64(0), row.text(1) ?? "", row.int64(2)))
        }
        let previous = try db.cachedStatement("SELECT previous FROM history WHERE id = ?1")
        let state = try db.cachedStatement(
            "SELECT valid_from, sequence_number, changed, \(StateCodes.columns) FROM history WHERE id = ?1")
        var records: [ChangeRecord] = []
        records.reserveCapacity(page.count)
        for user in page {
            var id: Int64? = user.historyID
            while let current = id, current > asOf {
                id = try previous.queryOne([.integer(current)]) { $0.isNull(0) ? nil : $0.int64(0) } ?? nil
            }
            guard let id else { continue }
            let row = try state.queryOne([.integer(id)]) { row in
                (since: row.int64(0), sequence: row.value(1), changed: row.int64(2), codes: StateCodes(row, from: 3))
            }
            guard let row else { continue }
            records.append(
                ChangeRecord(
                    historyID: id, userID: user.userID, previous: nil, previousSince: nil,
                    current: try vocabulary.state(row.codes, db),
                    sequenceNumber: StoreLayout.sequenceText(row.sequence),
                    changedFields: StoreLayout.fields(row.changed), since: Timestamp(millisecondsSinceEpoch: row.since),
                    origin: .snapshot(asOf: asOf)))
        }
        return BackfillPage(records: records, position: page.last?.key ?? position, finished: page.isEmpty)
    }
}

extension PresenceStore {
    /// The cursor of `sink`, placed as `start` asks when the sink is seen for the first time.
    public func startOutboxCursor(sink: String, from start: StartFrom?) async throws(StoreError) -> SinkStart {
        try await withConnection("placing the cursor of \(sink)") { db in
            try SinkStarts.start(sink: sink, from: start, windowHours: self.newSinkWindowHours, db)
        }
    }

    /// The snapshot or replay `sink` has to send, if any.
    public func outboxBackfill(sink: String) async throws(StoreError) -> OutboxBackfill? {
        try await withConnection("reading the backfill of \(sink)") { db in try OutboxBackfills.active(sink: sink, db) }
    }

    /// The next page of `backfill` after `position`.
    public func backfillPage(
        _ backfill: OutboxBackfill, after position: Int64, limit: Int
    ) async throws(StoreError) -> BackfillPage {
        try await withConnection("reading the \(backfill.kind.rawValue) of \(backfill.sink)") { db in
            try OutboxBackfills.page(backfill, after: position, limit: limit, db, &self.vocabulary)
        }
    }

    /// Records that `backfill` was delivered up to `position` (all of it when `finished`).
    public func advanceBackfill(
        _ backfill: OutboxBackfill, to position: Int64, finished: Bool
    ) async throws(StoreError) {
        try await withConnection("recording the \(backfill.kind.rawValue) progress of \(backfill.sink)") { db in
            try OutboxBackfills.advance(backfill, to: position, finished: finished, db)
        }
    }

    /// Asks `sink` to re-send the history from `since` up to its cursor (`presence-sync replay`, also through the
    /// daemon's own connection in tests). Nil when there is nothing to re-send.
    public func requestReplay(sink: String, since: Timestamp) async throws(StoreError) -> ReplayRequest? {
        try await withConnection("recording a replay for \(sink)") { db in
            try OutboxBackfills.beginReplay(sink: sink, since: since, windowHours: self.newSinkWindowHours, db)
                .map { ReplayRequest(backfill: $0.backfill, oldestKept: $0.oldest) }
        }
    }
}

/// A replay just recorded: what will be re-sent, and the oldest history row kept (when the requested time is older
/// than that, the replay starts there).
public struct ReplayRequest: Sendable, Equatable {
    public var backfill: OutboxBackfill
    public var oldestKept: Timestamp?

    /// The warning to give when the history does not reach back to the requested time.
    public var warning: String? {
        guard let oldestKept, let since = backfill.since, oldestKept > since else { return nil }
        return "the history kept starts at \(oldestKept.iso8601), after \(since.iso8601): the replay starts there"
    }
}
