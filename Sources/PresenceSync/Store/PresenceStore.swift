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
/// `last_seen` (when Graph last confirmed a user's state) is written at most every `lastSeenWriteInterval` per
/// user, and for everyone at `close()`: rewriting 100,000 rows every cycle would cost more CPU and disk writes
/// than everything else the daemon does. A crash therefore leaves `last_seen` up to that interval stale; the
/// history itself is never affected. Users seen for the first time together (all of them, at start) would all come
/// due in the same later cycle, so each user's first rewrite is brought forward by a share of the interval derived
/// from its id (`lastSeenPhase`): the rewrites spread evenly over the interval and stay spread.
///
/// `@unchecked Sendable` is safe because every mutable member (`connection`, `tracked`) is touched only on
/// `queue`, which serialises all access; the other members are immutable after `init`.
public final class PresenceStore: @unchecked Sendable {
    public let path: String
    /// A random id minted when the database was created; with a history row id it makes a stable event id.
    public let instanceID: String
    private let queue: DispatchQueue
    private let logger: Logger
    private var connection: Connection?
    private let lastSeenWriteInterval: Int64
    /// What the store knows of each user without reading the file, so unchanged observations (90% or more)
    /// cost no read and usually no write.
    ///
    /// Filled as users are observed (a user's first observation since open reads its `presence_current` row) and
    /// updated only after a commit, so it never runs ahead of the file. Not loaded from the file at open: its keys
    /// are then the id strings the poller already holds, where a load made a second copy of every id (8 MB at
    /// 100,000 users, for as long as the daemon runs). Process-seeded hashes are fine: they are never stored.
    private var tracked = UserIndex(placeholder: TrackedUser(fingerprint: 0, lastSeenStored: 0, lastSeen: 0))
    /// When the store was opened (milliseconds since 1970): a `last_seen` read from the file counts as written no
    /// earlier than the user's phase before this, so after a long stop the rewrites spread over the first
    /// interval instead of all falling into the first cycle.
    private let openedAt: Int64
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

    /// One user as the store remembers it: 16 bytes, because there is one per tracked user (with its id, 32 bytes a
    /// slot of the index, 4.2 MB at 100,000 users; 24-byte entries in a Dictionary made it 10.5 MB).
    ///
    /// The two `last_seen` times are kept to the second (since 2020, good until 2088). The file's own values are
    /// exact (each rewrite stores the observation's time); only the catch-up at shutdown writes a whole second.
    private struct TrackedUser {
        /// `PresenceState.hashValue` of the stored current state.
        var fingerprint: Int
        private var storedSeconds: Int32
        private var seenSeconds: Int32

        init(fingerprint: Int, lastSeenStored: Int64, lastSeen: Int64) {
            self.fingerprint = fingerprint
            self.storedSeconds = Self.seconds(lastSeenStored)
            self.seenSeconds = Self.seconds(lastSeen)
        }

        /// The `last_seen` value in the file (to the second, rounded down), in milliseconds since 1970.
        var lastSeenStored: Int64 {
            get { Self.milliseconds(storedSeconds) }
            set { storedSeconds = Self.seconds(newValue) }
        }

        /// The latest observation (to the second, rounded down), possibly not yet written to `last_seen`.
        var lastSeen: Int64 {
            get { Self.milliseconds(seenSeconds) }
            set { seenSeconds = Self.seconds(newValue) }
        }

        /// 2020-01-01T00:00:00Z in milliseconds since 1970.
        private static let epoch: Int64 = 1_577_836_800_000

        private static func seconds(_ milliseconds: Int64) -> Int32 {
            let offset = milliseconds - epoch
            return Int32(clamping: offset >= 0 ? offset / 1000 : (offset - 999) / 1000)
        }

        private static func milliseconds(_ seconds: Int32) -> Int64 { epoch + Int64(seconds) * 1000 }
    }

    /// Opens (creating if needed) and migrates the database, then loads what it knows of each user.
    ///
    /// - Parameter lastSeenWriteSeconds: how stale `last_seen` may get in the file before it is rewritten
    ///   (0: on every observation).
    /// - Parameter expectedUsers: how many users the store will soon know, so its index of them is sized once
    ///   instead of doubling (and briefly existing twice) during the first cycle.
    public init(
        path: String, lastSeenWriteSeconds: Double = 300, synchronous: SynchronousMode = .full, expectedUsers: Int = 0,
        logger: Logger
    ) throws(StoreError) {
        self.path = path
        self.logger = logger
        self.lastSeenWriteInterval = Int64(lastSeenWriteSeconds * 1000)
        self.queue = DispatchQueue(label: "presence-sync.store")
        do {
            let connection = try Connection(path: path, mode: .readWriteCreate, busyTimeoutMilliseconds: 5000)
            try Self.configure(connection, synchronous: synchronous)
            let (from, to) = try Migrator(Schema.migrations).migrate(connection)
            if from != to { logger.info("database schema migrated", metadata: ["from": "\(from)", "to": "\(to)"]) }
            self.instanceID = try Self.instanceID(connection)
            self.openedAt = Timestamp.now().millisecondsSinceEpoch
            let stored = try connection.prepare("SELECT count(*) FROM presence_current").queryOne { $0.int(0) } ?? 0
            self.tracked.reserveCapacity(max(stored, expectedUsers))
            self.connection = connection
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(path: path, operation: "opening", error)
        }
    }

    /// How hard SQLite pushes each commit to the disk.
    public enum SynchronousMode: String, Sendable, CaseIterable {
        /// Every commit is on disk before it returns: a committed change (and its event id) survives a power loss.
        case full
        /// Commits survive a crash of the process but the last ones may be lost on power loss; faster.
        case normal
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

    /// How much earlier than the interval a user's first `last_seen` rewrite comes, in milliseconds: a fixed share
    /// of the interval from the user id (FNV-1a), so that the same user gets the same share in every process.
    /// Whole seconds, like the times it is compared with.
    static func lastSeenPhase(_ userID: String, interval: Int64) -> Int64 {
        guard interval >= 2000 else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in userID.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int64(hash % UInt64(interval / 1000)) * 1000
    }

    /// Number of users observed since the store opened (those its in-memory index knows).
    public var trackedUsers: Int { queue.sync { tracked.count } }

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
    /// Unchanged users cost no write (but for an occasional `last_seen`). A changed user's open history row is
    /// closed at `observedAt` and a new one opened, its outbox row written and `presence_current` replaced, all
    /// in the same transaction. Once handed over, a batch always finishes or rolls back as a whole, even if the
    /// caller is cancelled.
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

    /// What a transaction changes in the in-memory index, applied once it has committed.
    private struct IndexUpdates {
        /// Users the index knows, by slot: applied without hashing their ids again. Slots stay valid because
        /// nothing is inserted before `added` is applied, last.
        var known: [(Int, TrackedUser)] = []
        /// Users seen for the first time since the store opened.
        var added: [(String, TrackedUser)] = []

        /// The user's new entry: by slot when the index knows the user, else as an addition.
        mutating func set(_ entry: TrackedUser, slot: Int?, userID: String) {
            if let slot { known.append((slot, entry)) } else { added.append((userID, entry)) }
        }
    }

    /// Stores several batches in one transaction; the in-memory view is updated only after the commit.
    private func recordGroup(_ group: [PendingBatch], _ db: Connection) throws -> [[ChangeRecord]] {
        var results: [[ChangeRecord]] = []
        var updates = IndexUpdates()
        updates.known.reserveCapacity(group.reduce(0) { $0 + $1.observations.count })
        try db.inTransaction(.immediate) {
            for batch in group {
                results.append(try recordBatch(batch.observations, observedAt: batch.observedAt, db, &updates))
            }
        }
        for (slot, entry) in updates.known { tracked[slot] = entry }
        for (userID, entry) in updates.added { tracked.insert(userID, entry) }
        return results
    }

    private func recordBatch(
        _ observations: [PresenceObservation], observedAt: Timestamp, _ db: Connection, _ updates: inout IndexUpdates
    ) throws -> [ChangeRecord] {
        let now = observedAt.millisecondsSinceEpoch
        var nowText: String?
        var changes: [ChangeRecord] = []
        let touch = try db.cachedStatement("UPDATE presence_current SET last_seen = ?1 WHERE user_id = ?2")
        /// Writes the user's `last_seen` when the file's value is due for a rewrite.
        func touchIfDue(_ user: inout TrackedUser, _ userID: String) throws {
            guard user.lastSeen - user.lastSeenStored >= lastSeenWriteInterval else { return }
            if nowText == nil { nowText = observedAt.iso8601 }
            try touch.bind(nowText, at: 1)
            try touch.bind(userID, at: 2)
            try touch.execute()
            user.lastSeenStored = user.lastSeen
        }
        for observation in observations {
            let fingerprint = observation.state.hashValue
            let slot = tracked.slot(adopting: observation.userID)
            if let slot, case var known = tracked[slot], known.fingerprint == fingerprint {
                known.lastSeen = max(known.lastSeen, now)
                try touchIfDue(&known, observation.userID)
                updates.set(known, slot: slot, userID: observation.userID)
                continue
            }
            // First observation since open (or a change): what the file holds decides.
            let previous = try CurrentRow.read(db, userID: observation.userID)
            let phase = Self.lastSeenPhase(observation.userID, interval: lastSeenWriteInterval)
            if let previous, previous.state == observation.state {
                let stored = previous.lastSeen.millisecondsSinceEpoch
                var known = TrackedUser(
                    fingerprint: fingerprint, lastSeenStored: max(stored, openedAt - phase), lastSeen: max(stored, now))
                try touchIfDue(&known, observation.userID)
                updates.set(known, slot: slot, userID: observation.userID)
                continue
            }
            updates.set(
                TrackedUser(fingerprint: fingerprint, lastSeenStored: now - phase, lastSeen: now), slot: slot,
                userID: observation.userID)
            changes.append(try appendHistory(observation, previous: previous, observedAt: observedAt, db))
        }
        return changes
    }

    /// Writes every `last_seen` that is newer in memory than in the file (at shutdown).
    ///
    /// Walks the index in place: a filtered copy of 100,000 entries was the largest allocation of the daemon's
    /// whole run (5 MB, at the moment it stops).
    private func flushLastSeen(_ db: Connection) throws {
        guard tracked.containsValue(where: { $0.lastSeen > $0.lastSeenStored }) else { return }
        try db.inTransaction(.immediate) {
            let touch = try db.cachedStatement("UPDATE presence_current SET last_seen = ?1 WHERE user_id = ?2")
            try tracked.forEach { userID, user in
                guard user.lastSeen > user.lastSeenStored else { return }
                try touch.bind(Timestamp(millisecondsSinceEpoch: user.lastSeen).iso8601, at: 1)
                try touch.bind(userID, at: 2)
                try touch.execute()
            }
        }
        tracked.updateValues { $0.lastSeenStored = max($0.lastSeenStored, $0.lastSeen) }
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
            INSERT INTO presence_current (user_id, history_id, \(CurrentRow.stateColumns), sequence_number, since,
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
    /// One checkpoint per cycle copies each page the cycle touched once, instead of once per automatic
    /// checkpoint; it is PASSIVE, so an operator's open read never blocks it (it then finishes next time).
    public func recordCycle(_ summary: CycleSummary) async throws(StoreError) {
        try await withConnection("recording cycle \(summary.number)") { db in
            defer { try? db.execute("PRAGMA wal_checkpoint(PASSIVE)") }
            try db.cachedStatement(
                """
                INSERT INTO poll_cycles (started_at, finished_at, users, observed, changes, missing, failed_batches,
                    unexpected_ids)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
            ).execute([
                .text(summary.startedAt.iso8601), .text(summary.finishedAt.iso8601), .integer(Int64(summary.users)),
                .integer(Int64(summary.observed)), .integer(Int64(summary.changes)), .integer(Int64(summary.missing)),
                .integer(Int64(summary.failedBatches)), .integer(Int64(summary.unexpectedIDs)),
            ])
        }
    }

    /// Writes pending `last_seen` values, checkpoints the WAL and closes the file; later calls fail with
    /// "store is closed". Idempotent.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                if let connection = self.connection {
                    do {
                        try self.flushLastSeen(connection)
                    } catch {
                        self.logger.error("writing last_seen at shutdown failed", metadata: ["error": "\(error)"])
                    }
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
