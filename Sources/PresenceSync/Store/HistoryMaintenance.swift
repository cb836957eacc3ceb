import Foundation
import SQLite

/// What one prune removed and reclaimed.
public struct PruneResult: Sendable, Equatable {
    /// Closed history rows deleted (those whose `valid_to` is before the cutoff).
    public var rowsDeleted: Int
    /// Pages returned to the file system by `PRAGMA incremental_vacuum`.
    public var pagesReclaimed: Int
    /// False for a database created without `auto_vacuum = INCREMENTAL`: freed pages are reused by new rows,
    /// but the file only shrinks after a full `VACUUM` (run it while the daemon is stopped).
    public var incrementalVacuum: Bool
}

/// Retention and copies of the presence database: the work that changes or copies the file beyond recording.
///
/// Pruning deletes only closed history rows (`valid_to` set and older than the cutoff), never an open row, a row
/// `presence_current` points at, or a row an undelivered event needs, so the current state and the latest interval of every user survive. It deletes in
/// small transactions so the daemon's batches are not held up for long, then returns freed pages to the file system.
public enum HistoryMaintenance {
    /// Rows deleted per transaction: a few milliseconds of write lock each.
    static let rowsPerTransaction = 2_000

    /// Prunes the database at `path` (it must exist) through its own connection, migrating it first if it is
    /// older; safe while the daemon runs.
    public static func prune(path: String, before cutoff: Timestamp) throws(StoreError) -> PruneResult {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(path: path, operation: "pruning", HistoryQueryProblem("no such file"))
        }
        do {
            let connection = try Connection(path: path, mode: .readWrite, busyTimeoutMilliseconds: 10_000)
            try connection.execute("PRAGMA foreign_keys = ON")
            // The file may predate the layout this prune knows (a daemon not restarted since an upgrade).
            try Migrator(Schema.migrations).migrate(connection)
            var deleted = 0
            while true {
                let count = try deleteClosedRows(connection, before: cutoff, limit: rowsPerTransaction)
                deleted += count
                if count < rowsPerTransaction { break }
            }
            let (incremental, pages) = try reclaimSpace(connection)
            try connection.close()
            return PruneResult(rowsDeleted: deleted, pagesReclaimed: pages, incrementalVacuum: incremental)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(path: path, operation: "pruning rows closed before \(cutoff)", error)
        }
    }

    /// Deletes up to `limit` closed history rows whose `valid_to` is before `cutoff`, in one transaction.
    ///
    /// The history is also the event log, so a row is kept while an event still needs it: every row from the
    /// first one a sink in `sinks` (default: every sink with a cursor) has not delivered, or one that is a dead
    /// letter or requeued, and the previous rows of those (an event carries its previous state) stay. A replay in
    /// progress counts as a cursor at its position; a snapshot needs nothing more, since its sink's cursor stays
    /// at the snapshot's history id until it is done.
    static func deleteClosedRows(
        _ db: Connection, before cutoff: Timestamp, limit: Int, sinks: [String]? = nil
    ) throws -> Int {
        try db.inTransaction(.immediate) {
            let deliveredBySinks: Int64
            if let sinks {
                deliveredBySinks = try Outbox.deliveredByAll(sinks, db)
            } else {
                deliveredBySinks =
                    try db.cachedStatement("SELECT min(delivered_through) FROM outbox_cursors").queryOne {
                        $0.isNull(0) ? Int64.max : $0.int64(0)
                    } ?? Int64.max
            }
            // A replay in progress reads on from its position like a cursor: its rows stay until it is done (a
            // replay of a sink no longer configured is ignored, as its cursor is).
            var replaying = Int64.max
            try db.cachedStatement("SELECT sink, position FROM outbox_backfills WHERE kind = 'replay'").query { row in
                guard sinks?.contains(row.text(0) ?? "") ?? true else { return }
                replaying = min(replaying, row.int64(1))
            }
            let delivered = min(deliveredBySinks, replaying)
            var needed = Int64.max
            for sql in [
                "SELECT min(coalesce(previous, id)) FROM history WHERE id > ?1",
                """
                SELECT min(coalesce(h.previous, h.id)) FROM history AS h
                JOIN webhook_dead_letters AS d ON d.history_id = h.id WHERE ?1 = ?1
                """,
                """
                SELECT min(coalesce(h.previous, h.id)) FROM history AS h
                JOIN webhook_requeued AS r ON r.history_id = h.id WHERE ?1 = ?1
                """,
            ] {
                let first = try db.cachedStatement(sql).queryOne([.integer(delivered)]) {
                    $0.isNull(0) ? Int64.max : $0.int64(0)
                }
                needed = min(needed, first ?? Int64.max)
            }
            try db.cachedStatement(
                """
                DELETE FROM history WHERE id IN (
                    SELECT id FROM history
                    WHERE id < ?3 AND valid_to < ?1
                        AND id NOT IN (SELECT history_id FROM current)
                    LIMIT ?2)
                """
            ).execute([.integer(cutoff.millisecondsSinceEpoch), .integer(Int64(limit)), .integer(needed)])
            return db.changes
        }
    }

    /// Runs `PRAGMA incremental_vacuum` when the file allows it; returns whether it did and the pages it freed.
    static func reclaimSpace(_ db: Connection) throws -> (incremental: Bool, pages: Int) {
        let mode = try db.pragma("auto_vacuum")
        guard mode == .integer(2) else { return (false, 0) }
        let before = try pageCount(db)
        try db.execute("PRAGMA incremental_vacuum")
        return (true, max(0, before - (try pageCount(db))))
    }

    private static func pageCount(_ db: Connection) throws -> Int {
        if case .integer(let count) = try db.pragma("page_count") { return Int(count) }
        return 0
    }

    /// Writes a consistent copy of the database at `path` to `destination` with SQLite's online backup API.
    ///
    /// Safe while the daemon writes: the copy holds exactly the batches committed when it finished. The
    /// destination must not exist (it is never overwritten); the copy is a single file in rollback-journal mode.
    public static func backup(path: String, to destination: String) throws(StoreError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(path: path, operation: "backing up", HistoryQueryProblem("no such file"))
        }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError(
                path: path, operation: "backing up",
                HistoryQueryProblem("\(destination) already exists; a backup never overwrites a file"))
        }
        do {
            let source = try Connection(path: path, mode: .readOnly, busyTimeoutMilliseconds: 10_000)
            // One step: under continuous writes a stepwise copy would restart after every batch the daemon commits.
            try source.backup(to: destination, pagesPerStep: -1)
            try source.close()
        } catch {
            throw StoreError(path: path, operation: "backing up to \(destination)", error)
        }
    }
}

extension PresenceStore {
    /// Prunes closed history rows older than `cutoff` on the store's own queue, one small transaction per call,
    /// so the daemon's batches interleave with a long prune instead of waiting for all of it. Rows that events of
    /// `sinks` (nil: every sink with a cursor) still need are kept.
    public func pruneHistory(before cutoff: Timestamp, sinks: [String]? = nil) async throws(StoreError) -> PruneResult {
        var deleted = 0
        while true {
            let count = try await withConnection("pruning history before \(cutoff)") { db in
                try HistoryMaintenance.deleteClosedRows(
                    db, before: cutoff, limit: HistoryMaintenance.rowsPerTransaction, sinks: sinks)
            }
            deleted += count
            if count < HistoryMaintenance.rowsPerTransaction { break }
        }
        let reclaimed = try await withConnection("reclaiming space") { db in
            let result = try HistoryMaintenance.reclaimSpace(db)
            return Reclaimed(incremental: result.incremental, pages: result.pages)
        }
        return PruneResult(
            rowsDeleted: deleted, pagesReclaimed: reclaimed.pages, incrementalVacuum: reclaimed.incremental)
    }
}

/// A Sendable carrier for `reclaimSpace`'s answer across the store's queue.
private struct Reclaimed: Sendable {
    var incremental: Bool
    var pages: Int
}
