import Dispatch
import Foundation
import Logging
import SQLite
import Synchronization

/// The durable record of presence: current state and append-only history in one SQLite file.
///
/// All SQLite work runs on one private serial queue, never on Swift's cooperative pool, because SQLite calls
/// block (disk, fsync, busy waits). The file is in WAL mode so operators and other processes can read it at any
/// time while the daemon writes. A batch is always stored whole or not at all; batches that arrive while another
/// transaction is committing are written together in the next one (group commit), which keeps the number of
/// commits, fsyncs and rewritten index pages per cycle low. If such a group fails, each of its batches is retried
/// in a transaction of its own, so one bad batch never takes the others down.
///
/// **Unchanged users cost nothing here.** The store keeps each user's answer fingerprint (`FingerprintTable`,
/// updated only after a commit, so it never runs ahead of the file); the poller compares answers with it and hands
/// over only users whose answer differs. `last_seen` is not written per user either: `presence_current` is a view
/// that derives it from the last complete sweep (`poll_cycles.sweep`), except for users in `presence_unobserved`
/// (missing from answers, in a failed batch, or no longer tracked), whose time is frozen there when they stop
/// being observed and released when they are observed again.
///
/// `@unchecked Sendable` is safe because every mutable member (`connection`, `unobserved`) is touched only on
/// `queue`, which serialises all access; `known` is a `Mutex`; the other members are immutable after `init`.
public final class PresenceStore: @unchecked Sendable {
    public let path: String
    /// A random id minted when the database was created; with a history row id it makes a stable event id.
    public let instanceID: String
    private let queue: DispatchQueue
    private let logger: Logger
    private var connection: Connection?
    /// Each user's fingerprint of the answer whose state the file holds. Empty at open: a user's first answer after
    /// a start is decoded and compared with its `presence_state` row (the first cycle costs what a change does).
    let known = Mutex(FingerprintTable())
    /// The users with a row in `presence_unobserved` (read at open; few): an observation of one of them deletes it.
    var unobserved: Set<String> = []
    /// Batches waiting for the next transaction, and whether a drain is scheduled on `queue`.
    private let pending = Mutex(PendingBatches())

    private struct PendingBatches {
        var batches: [PendingBatch] = []
        var draining = false
    }

    private struct PendingBatch {
        var observations: [PresenceObservation]
        var observedAt: Timestamp
        var reply: CheckedContinuation<Result<[ChangeRecord], StoreError>, Never>
    }

    /// Opens (creating if needed) and migrates the database.
    ///
    /// - Parameter expectedUsers: how many users the store will soon know, so its table of fingerprints is sized
    ///   once instead of doubling (and briefly existing twice) during the first cycle.
    public init(
        path: String, synchronous: SynchronousMode = .full, expectedUsers: Int = 0, logger: Logger
    ) throws(StoreError) {
        self.path = path
        self.logger = logger
        self.queue = DispatchQueue(label: "presence-sync.store")
        do {
            let connection = try Connection(path: path, mode: .readWriteCreate, busyTimeoutMilliseconds: 5000)
            try Self.configure(connection, synchronous: synchronous)
            let (from, to) = try Migrator(Schema.migrations).migrate(connection)
            if from != to { logger.info("database schema migrated", metadata: ["from": "\(from)", "to": "\(to)"]) }
            self.instanceID = try Self.instanceID(connection)
            let stored = try connection.prepare("SELECT count(*) FROM presence_state").queryOne { $0.int(0) } ?? 0
            known.withLock { $0.reserveCapacity(max(stored, expectedUsers)) }
            var unobserved: Set<String> = []
            try connection.prepare("SELECT user_id FROM presence_unobserved").query { row in
                unobserved.insert(row.text(0) ?? "")
            }
            self.unobserved = unobserved
            self.connection = connection
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(path: path, operation: "opening", error)
        }
    }

    /// WAL so readers never block the writer; the chosen sync mode (FULL by default, so a committed change and
    /// its event id survive a power loss, not only a crash); a busy timeout so an operator's long read does not
    /// fail a batch; a 2 MiB page cache, which holds the interior pages of every index a cycle walks (the leaves
    /// it touches are spread at random over a file far larger than any cache the memory budget allows).
    /// Automatic checkpoints are made rare (64 MiB of WAL) because the store checkpoints once per cycle, when the
    /// cycle is recorded; the WAL file is truncated back to 64 MiB after a checkpoint.
    /// `auto_vacuum = INCREMENTAL` lets `prune` return freed pages to the file system; it only takes effect on a
    /// new file (before the first table is created), so it comes first, and is a no-op on older files.
    static func configure(_ connection: Connection, synchronous: SynchronousMode) throws {
        try connection.execute(
            """
            PRAGMA auto_vacuum = INCREMENTAL;
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = \(synchronous.rawValue.uppercased());
            PRAGMA foreign_keys = ON;
            PRAGMA busy_timeout = 5000;
            PRAGMA cache_size = -2048;
            PRAGMA wal_autocheckpoint = 16384;
            PRAGMA journal_size_limit = 67108864;
            """)
    }

    private static func instanceID(_ connection: Connection) throws -> String {
        let select = try connection.prepare("SELECT value FROM store_info WHERE key = 'instance_id'")
        if let stored = try select.queryOne([], { row in row.text(0) }), let stored { return stored }
        let id = UUID().uuidString.lowercased()
        try connection.inTransaction {
            try connection.prepare("INSERT INTO store_info (key, value) VALUES ('instance_id', ?), ('created_at', ?)")
                .execute([.text(id), .text(Timestamp.now().iso8601)])
        }
        return id
    }

    /// Runs `body` with a lookup of the fingerprint the store recorded last for a key (0 when it knows none),
    /// under one lock for a whole batch: an answer with that fingerprint changes nothing.
    func withKnownFingerprints<T>(_ body: ((UserKey) -> UInt64) -> T) -> T {
        known.withLock { table in body { table.fingerprint(of: $0) } }
    }

    /// Number of users whose answer fingerprint the store holds.
    public var usersWithFingerprint: Int { known.withLock { $0.count } }

    /// Runs `body` on the store's queue with the open connection, off the cooperative pool.
    func withConnection<T: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (Connection) throws -> T
    ) async throws(StoreError) -> T {
        let path = self.path
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            queue.async {
                guard let connection = self.connection else {
                    continuation.resume(
                        returning: .failure(StoreError(path: path, operation: operation, StoreClosed())))
                    return
                }
                do {
                    continuation.resume(returning: .success(try body(connection)))
                } catch {
                    continuation.resume(returning: .failure(StoreError(path: path, operation: operation, error)))
                }
            }
        }
        return try result.get()
    }

    /// Records one batch of observations and returns the changes it stored, once they are committed.
    ///
    /// The poller hands over only answers that differ from the last one recorded (or that the store has no
    /// fingerprint for); each is compared with the stored state, omitted fields carried forward. A changed user's
    /// open history row is closed at `observedAt` and a new one opened, its outbox row written and
    /// `presence_state` replaced, all in the same transaction. Once handed over, a batch always finishes or rolls
    /// back as a whole, even if the caller is cancelled.
    public func record(
        _ observations: [PresenceObservation], observedAt: Timestamp
    ) async throws(StoreError) -> [ChangeRecord] {
        let result = await withCheckedContinuation { continuation in
            let batch = PendingBatch(observations: observations, observedAt: observedAt, reply: continuation)
            let mustSchedule = pending.withLock { state in
                state.batches.append(batch)
                defer { state.draining = true }
                return !state.draining
            }
            if mustSchedule { queue.async { self.drainPending() } }
        }
        return try result.get()
    }

    /// Writes every waiting batch, as one transaction per group of batches that waited together. On `queue`.
    private func drainPending() {
        while true {
            let group = pending.withLock { state in
                let taken = state.batches
                state.batches = []
                if taken.isEmpty { state.draining = false }
                return taken
            }
            if group.isEmpty { return }
            guard let connection else {
                for batch in group {
                    batch.reply.resume(
                        returning: .failure(StoreError(path: path, operation: "recording", StoreClosed())))
                }
                continue
            }
            do {
                let results = try recordGroup(group, connection)
                for (batch, changes) in zip(group, results) { batch.reply.resume(returning: .success(changes)) }
            } catch {
                guard group.count > 1 else {
                    let operation = "recording \(group[0].observations.count) observations"
                    group[0].reply.resume(returning: .failure(StoreError(path: path, operation: operation, error)))
                    continue
                }
                logger.warning(
                    "a group commit failed; retrying its batches one by one",
                    metadata: ["batches": "\(group.count)", "error": "\(error)"])
                for batch in group {
                    do {
                        let changes = try recordGroup([batch], connection)[0]
                        batch.reply.resume(returning: .success(changes))
                    } catch {
                        let operation = "recording \(batch.observations.count) observations"
                        batch.reply.resume(returning: .failure(StoreError(path: path, operation: operation, error)))
                    }
                }
            }
        }
    }

    /// Stores several batches in one transaction; fingerprints are recorded only after the commit.
    private func recordGroup(_ group: [PendingBatch], _ db: Connection) throws -> [[ChangeRecord]] {
        var results: [[ChangeRecord]] = []
        var released: [String] = []
        try db.inTransaction(.immediate) {
            for batch in group {
                results.append(try recordBatch(batch.observations, observedAt: batch.observedAt, db, &released))
            }
        }
        for userID in released { unobserved.remove(userID) }
        known.withLock { table in
            for batch in group {
                for observation in batch.observations {
                    if let key = UserKey(observation.userID) { table.set(key, observation.fingerprint) }
                }
            }
        }
        return results
    }

    /// Compares each observation (an answer that differs from the last one recorded) with the user's stored state,
    /// fields the answer left out carried forward, and appends history where the state really changed.
    private func recordBatch(
        _ observations: [PresenceObservation], observedAt: Timestamp, _ db: Connection, _ released: inout [String]
    ) throws -> [ChangeRecord] {
        var changes: [ChangeRecord] = []
        for var observation in observations {
            let previous = try CurrentRow.read(db, userID: observation.userID)
            if let previous {
                observation.state = observation.state.carryingForward(observation.omitted, from: previous.state)
            }
            if !unobserved.isEmpty, unobserved.contains(observation.userID) {
                try db.cachedStatement("DELETE FROM presence_unobserved WHERE user_id = ?1")
                    .execute([.text(observation.userID)])
                released.append(observation.userID)
            }
            if let previous, previous.state == observation.state { continue }
            changes.append(try appendHistory(observation, previous: previous, observedAt: observedAt, db))
        }
        return changes
    }

    /// Marks users as not observed since now (missing from an answer, or in a batch that failed): their
    /// `last_seen` stops following the sweeps, frozen at its current value, until they are observed again. Their
    /// fingerprints are forgotten, so that their next answer reaches `record` and releases them.
    public func recordUnobserved(_ userIDs: [String]) async throws(StoreError) {
        guard !userIDs.isEmpty else { return }
        try await withConnection("recording \(userIDs.count) users as not observed") { db in
            let added = try db.inTransaction(.immediate) { () throws -> [String] in
                try Self.freezeLastSeen(of: userIDs, db, skipping: self.unobserved)
            }
            self.unobserved.formUnion(added)
        }
        forgetFingerprints(of: userIDs)
    }

    /// Copies the derived `last_seen` of each user that has a stored state and is not in `skipping` into
    /// `presence_unobserved`; returns those added. Inside the caller's transaction.
    static func freezeLastSeen(of userIDs: [String], _ db: Connection, skipping: Set<String>) throws -> [String] {
        let freeze = try db.cachedStatement(
            """
            INSERT OR IGNORE INTO presence_unobserved (user_id, last_seen)
            SELECT user_id, last_seen FROM presence_current WHERE user_id = ?1
            """)
        var added: [String] = []
        for userID in userIDs where !skipping.contains(userID) {
            try freeze.execute([.text(userID)])
            if db.changes > 0 { added.append(userID) }
        }
        return added
    }

    /// Closes the previous history row, appends the new one and replaces the current row.
    private func appendHistory(
        _ observation: PresenceObservation, previous: CurrentRow?, observedAt: Timestamp, _ db: Connection
    ) throws -> ChangeRecord {
        // A wall clock stepped backwards must not produce a row that ends before it starts.
        let since = max(observedAt, previous?.since ?? observedAt)
        let sinceText = since.iso8601
        let fields = Differ.changedFields(from: previous?.state, to: observation.state)
        if let previous {
            let close = try db.cachedStatement("UPDATE presence_history SET valid_to = ?1 WHERE id = ?2")
            try close.execute([.text(sinceText), .integer(previous.historyID)])
        }
        let state = observation.state
        let insert = try db.cachedStatement(
            """
            INSERT INTO presence_history (user_id, \(CurrentRow.stateColumns), sequence_number, changed_fields,
                valid_from)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
            """)
        try insert.bind(observation.userID, at: 1)
        try CurrentRow.bind(state, to: insert, from: 2)
        try insert.bind(observation.sequenceNumber, at: 8)
        try insert.bind(fields.map(\.rawValue).joined(separator: ","), at: 9)
        try insert.bind(sinceText, at: 10)
        _ = try insert.step()
        insert.reset()
        let historyID = db.lastInsertRowID
        let upsert = try db.cachedStatement(
            """
            INSERT INTO presence_state (user_id, history_id, \(CurrentRow.stateColumns), sequence_number, since,
                last_seen)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
            ON CONFLICT (user_id) DO UPDATE SET history_id = excluded.history_id,
                availability = excluded.availability, activity = excluded.activity,
                status_message = excluded.status_message, out_of_office = excluded.out_of_office,
                out_of_office_message = excluded.out_of_office_message, work_location = excluded.work_location,
                sequence_number = excluded.sequence_number, since = excluded.since, last_seen = excluded.last_seen
            """)
        try upsert.bind(observation.userID, at: 1)
        try upsert.bind(historyID, at: 2)
        try CurrentRow.bind(state, to: upsert, from: 3)
        try upsert.bind(observation.sequenceNumber, at: 9)
        try upsert.bind(sinceText, at: 10)
        _ = try upsert.step()
        upsert.reset()
        let change = ChangeRecord(
            historyID: historyID, userID: observation.userID, previous: previous?.state,
            previousSince: previous?.since, current: state, sequenceNumber: observation.sequenceNumber,
            changedFields: fields, since: since)
        // Same transaction as the history row: the event is stored exactly when the change is.
        try Outbox.insert(change, db)
        return change
    }

    /// Stores a finished cycle's counts in `poll_cycles`, then checkpoints the WAL while the daemon is idle.
    ///
    /// A cycle that tried every batch is a sweep (`sweep = 1`): every user it did not record as unobserved was
    /// observed after it started, which is what `presence_current.last_seen` derives from.
    ///
    /// One checkpoint per cycle copies each page the cycle touched once, instead of once per automatic
    /// checkpoint; it is PASSIVE, so an operator's open read never blocks it (it then finishes next time).
    public func recordCycle(_ summary: CycleSummary) async throws(StoreError) {
        try await withConnection("recording cycle \(summary.number)") { db in
            defer { try? db.execute("PRAGMA wal_checkpoint(PASSIVE)") }
            try db.cachedStatement(
                """
                INSERT INTO poll_cycles (started_at, finished_at, users, observed, changes, missing, failed_batches,
                    unexpected_ids, sweep)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            ).execute([
                .text(summary.startedAt.iso8601), .text(summary.finishedAt.iso8601), .integer(Int64(summary.users)),
                .integer(Int64(summary.observed)), .integer(Int64(summary.changes)), .integer(Int64(summary.missing)),
                .integer(Int64(summary.failedBatches)), .integer(Int64(summary.unexpectedIDs)),
                .integer(summary.isSweep ? 1 : 0),
            ])
        }
    }

    /// Checkpoints the WAL and closes the file; later calls fail with "store is closed". Idempotent.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                if let connection = self.connection {
                    try? connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    do {
                        try connection.close()
                    } catch {
                        self.logger.error("closing the database failed", metadata: ["error": "\(error)"])
                    }
                }
                self.connection = nil
                continuation.resume()
            }
        }
    }
}

private struct StoreClosed: Error, CustomStringConvertible {
    var description: String { "the store is closed" }
}
