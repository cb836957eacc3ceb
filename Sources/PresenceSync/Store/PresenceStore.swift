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
/// `@unchecked Sendable` is safe because every mutable member (`connection`, `unobserved`, `vocabulary`,
/// `otherKeys`, `createdKeys`) is touched only on `queue`, which serialises all access; `known` is a `Mutex`; the other members are immutable after `init`.
public final class PresenceStore: @unchecked Sendable {
    public let path: String
    /// A random id minted when the database was created; with a history row id it makes a stable event id.
    public let instanceID: String
    /// A sink without a cursor starts with the events of this many last hours.
    public let newSinkWindowHours: Double
    private let queue: DispatchQueue
    private let logger: Logger
    private var connection: Connection?
    /// Each user's fingerprint of the answer whose state the file holds. Empty at open: a user's first answer after
    /// a start is decoded and compared with its `presence_state` row (the first cycle costs what a change does).
    let known = Mutex(FingerprintTable())
    /// The keys of the users with a row in `unobserved` (read at open; few): an observation of one deletes it.
    var unobserved: Set<Int64> = []
    /// Word and message codes of the compact rows.
    var vocabulary: Vocabulary
    /// Keys in `user_keys` of users whose id is not a GUID (GUIDs' keys are in `known`); tests use such ids.
    var otherKeys: [String: Int64] = [:]
    /// Users whose key was created in the transaction in progress: forgotten if it rolls back.
    var createdKeys: [String] = []
    /// Batches waiting for the next transaction, and whether a drain is scheduled on `queue`.
    private let pending = Mutex(PendingBatches())

    private struct PendingBatches {
        var batches: [PendingBatch] = []
        var observations = 0
        var draining = false
    }

    /// Observations that end a commit window early: a window's batches wait in memory (with what they decode
    /// to), and a first cycle, where every user is new, would otherwise hold a whole tenant's at once.
    static let windowObservationLimit = 6_500

    struct PendingBatch {
        var observations: [PresenceObservation]
        var observedAt: Timestamp
        /// Whether the caller wants the changes as `ChangeRecord`s (with the states they replaced, decoded) or
        /// only how many there were (the poller: events are built later, from the history).
        var wantsRecords: Bool
        var reply: CheckedContinuation<Result<StoredChanges, StoreError>, Never>
    }

    /// How long the first batch handed to `record` may wait for others before their transaction commits.
    public let commitWindow: Duration

    /// Opens (creating if needed) and migrates the database.
    ///
    /// - Parameter expectedUsers: how many users the store will soon know, so its table of fingerprints is sized
    ///   once instead of doubling (and briefly existing twice) during the first cycle.
    /// - Parameter newSinkWindowHours: a sink without a cursor starts with the events of this many last hours
    ///   (`events.outboxRetentionHours`).
    /// - Parameter commitWindow: batches handed to `record` within this time of the first one share a transaction
    ///   (and its fsync, and every page they both touch); `flush` ends the window early. Zero: commit at once,
    ///   together with whatever arrived during the previous commit.
    public init(
        path: String, synchronous: SynchronousMode = .full, expectedUsers: Int = 0, newSinkWindowHours: Double = 24,
        commitWindow: Duration = .zero, logger: Logger
    ) throws(StoreError) {
        self.path = path
        self.commitWindow = commitWindow
        self.newSinkWindowHours = newSinkWindowHours
        self.logger = logger
        self.queue = DispatchQueue(label: "presence-sync.store")
        do {
            let connection = try Connection(path: path, mode: .readWriteCreate, busyTimeoutMilliseconds: 5000)
            try Self.configure(connection, synchronous: synchronous)
            let (from, to) = try Migrator(Schema.migrations).migrate(connection)
            if from != to { logger.info("database schema migrated", metadata: ["from": "\(from)", "to": "\(to)"]) }
            self.instanceID = try Self.instanceID(connection)
            let stored = try connection.prepare("SELECT count(*) FROM user_keys").queryOne { $0.int(0) } ?? 0
            var otherKeys: [String: Int64] = [:]
            try known.withLock { table in
                table.reserveCapacity(max(stored, expectedUsers))
                try connection.prepare("SELECT key, user_id FROM user_keys").query { row in
                    let userID = row.text(1) ?? ""
                    if let key = UserKey(userID) {
                        table.setFileKey(key, row.int64(0))
                    } else {
                        otherKeys[userID] = row.int64(0)
                    }
                }
            }
            self.otherKeys = otherKeys
            var unobserved: Set<Int64> = []
            try connection.prepare("SELECT user FROM unobserved").query { row in unobserved.insert(row.int64(0)) }
            self.unobserved = unobserved
            self.vocabulary = try Vocabulary(connection)
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
    public var usersWithFingerprint: Int { known.withLock { $0.fingerprintCount } }

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
    /// open history row is closed at `observedAt` and a new one opened (its event) and the current row replaced,
    /// all in the same transaction. Once handed over, a batch always finishes or rolls back as a whole, even if
    /// the caller is cancelled.
    public func record(
        _ observations: [PresenceObservation], observedAt: Timestamp
    ) async throws(StoreError) -> [ChangeRecord] {
        try await store(observations, observedAt: observedAt, wantsRecords: true).records
    }

    /// `record`, returning only how many changes were stored: what the poller needs, without decoding the
    /// states each change replaced.
    public func recordCountingChanges(
        _ observations: [PresenceObservation], observedAt: Timestamp
    ) async throws(StoreError) -> Int {
        try await store(observations, observedAt: observedAt, wantsRecords: false).count
    }

    private func store(
        _ observations: [PresenceObservation], observedAt: Timestamp, wantsRecords: Bool
    ) async throws(StoreError) -> StoredChanges {
        let result = await withCheckedContinuation { continuation in
            let batch = PendingBatch(
                observations: observations, observedAt: observedAt, wantsRecords: wantsRecords, reply: continuation)
            let (mustSchedule, full) = pending.withLock { state in
                state.batches.append(batch)
                state.observations += observations.count
                defer { state.draining = true }
                return (!state.draining, state.observations >= Self.windowObservationLimit)
            }
            if full {
                queue.async { self.drainPending() }
            } else if mustSchedule {
                scheduleDrain()
            }
        }
        return try result.get()
    }

    /// Commits the batches waiting for the commit window now (the poller's last request of a cycle is answered:
    /// nothing more will join them). Returns at once; each `record` call still returns when its batch committed.
    public func flush() {
        let waiting = pending.withLock { !$0.batches.isEmpty }
        if waiting { queue.async { self.drainPending() } }
    }

    /// Writes every waiting batch, as one transaction per group of batches that waited together. On `queue`.
    ///
    /// Without a commit window, batches that arrived during a commit form the next group at once; with one, they
    /// wait for a window of their own.
    private func drainPending() {
        while true {
            let group = pending.withLock { state in
                let taken = state.batches
                state.batches = []
                state.observations = 0
                if taken.isEmpty { state.draining = false }
                return taken
            }
            if group.isEmpty { return }
            commit(group)
            if commitWindow > .zero {
                let waiting = pending.withLock { state in
                    if state.batches.isEmpty { state.draining = false }
                    return !state.batches.isEmpty
                }
                if waiting { scheduleDrain() }
                return
            }
        }
    }

    /// Schedules `drainPending` on `queue` after the commit window (at once without one).
    private func scheduleDrain() {
        guard commitWindow > .zero else {
            queue.async { self.drainPending() }
            return
        }
        let (seconds, attoseconds) = commitWindow.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        queue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { self.drainPending() }
    }

    /// Writes one group in a transaction (each batch alone if the group fails) and answers each batch's caller.
    private func commit(_ group: [PendingBatch]) {
        guard let connection else {
            for batch in group {
                batch.reply.resume(
                    returning: .failure(StoreError(path: path, operation: "recording", StoreClosed())))
            }
            return
        }
        do {
            let results = try recordGroup(group, connection)
            for (batch, changes) in zip(group, results) { batch.reply.resume(returning: .success(changes)) }
        } catch {
            guard group.count > 1 else {
                let operation = "recording \(group[0].observations.count) observations"
                group[0].reply.resume(returning: .failure(StoreError(path: path, operation: operation, error)))
                return
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

    // Writing batches (`recordGroup`) and users not observed: PresenceStore+Recording.swift.

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
                    unexpected_ids, sweep, requests, budget_use, stalest_seconds)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            ).execute([
                .text(summary.startedAt.iso8601), .text(summary.finishedAt.iso8601), .integer(Int64(summary.users)),
                .integer(Int64(summary.observed)), .integer(Int64(summary.changes)), .integer(Int64(summary.missing)),
                .integer(Int64(summary.failedBatches)), .integer(Int64(summary.unexpectedIDs)),
                .integer(summary.isSweep ? 1 : 0), .integer(Int64(summary.requests)),
                summary.budgetUse.map { .real($0) } ?? .null, summary.stalestSeconds.map { .real($0) } ?? .null,
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
