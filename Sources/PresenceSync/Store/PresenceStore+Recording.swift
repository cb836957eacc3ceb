import SQLite

/// Writing changes into the compact tables (`StoreLayout`), on the store's queue.
///
/// A batch is written table by table, each in key order, so that every page of every tree is visited once per
/// batch rather than once per change: first the users' keys and current rows are read and compared (in user key
/// order), then the previous history rows are closed (in row id order), the new rows appended, and the current
/// rows replaced (in user key order). The changes of all batches of a group share one transaction.
extension PresenceStore {
    /// Stores several batches in one transaction; fingerprints are recorded only after the commit.
    func recordGroup(_ group: [PendingBatch], _ db: Connection) throws -> [StoredChanges] {
        var results: [StoredChanges] = []
        var released: [Int64] = []
        // Each id parsed once, for the key lookups and for the fingerprints after the commit.
        let guids = group.map { $0.observations.map { UserKey($0.userID) } }
        do {
            try db.inTransaction(.immediate) {
                for (batch, batchGUIDs) in zip(group, guids) {
                    results.append(
                        try recordBatch(
                            batch.observations, batchGUIDs, observedAt: batch.observedAt,
                            wantsRecords: batch.wantsRecords, db, &released))
                }
            }
        } catch {
            rollBackCaches()
            throw error
        }
        vocabulary.commit()
        createdKeys.removeAll(keepingCapacity: true)
        for key in released { unobserved.remove(key) }
        known.withLock { table in
            for (batch, batchGUIDs) in zip(group, guids) {
                for (observation, guid) in zip(batch.observations, batchGUIDs) {
                    if let guid { table.set(guid, observation.fingerprint) }
                }
            }
        }
        return results
    }

    /// Forgets the codes and keys created by a transaction that rolled back.
    private func rollBackCaches() {
        vocabulary.rollback()
        known.withLock { table in
            for userID in createdKeys { if let key = UserKey(userID) { table.setFileKey(key, 0) } }
        }
        for userID in createdKeys { otherKeys[userID] = nil }
        createdKeys.removeAll(keepingCapacity: true)
    }

    /// The user's key in `user_keys`; created when `creating` (else nil for a user the file has never stored).
    func fileKey(of userID: String, creating: Bool, _ db: Connection) throws -> Int64? {
        try fileKey(of: userID, guid: UserKey(userID), creating: creating, db)
    }

    /// `fileKey(of:creating:_:)` with the id already parsed (`guid`: nil when it is not a GUID).
    func fileKey(of userID: String, guid: UserKey?, creating: Bool, _ db: Connection) throws -> Int64? {
        if let guid {
            if let key = known.withLock({ $0.fileKey(of: guid) }) { return key }
        } else if let key = otherKeys[userID] {
            return key
        }
        var key = try db.cachedStatement("SELECT key FROM user_keys WHERE user_id = ?1").queryOne([.text(userID)]) {
            $0.int64(0)
        }
        if key == nil, creating {
            try db.cachedStatement("INSERT INTO user_keys (user_id) VALUES (?1)").execute([.text(userID)])
            key = db.lastInsertRowID
            createdKeys.append(userID)
        }
        guard let key else { return nil }
        if let guid { known.withLock { $0.setFileKey(guid, key) } } else { otherKeys[userID] = key }
        return key
    }

    /// One change decided in the first pass of `recordBatch`, written by the later ones.
    private struct PendingChange {
        var index: Int
        var key: Int64
        var previous: CurrentRow?
        var codes: StateCodes
        var changed: Int64
        var since: Timestamp
        /// The sequence number as stored (`StoreLayout.sequenceValue`), computed once for both tables.
        var sequence: Value
        var historyID: Int64 = 0
    }

    /// Compares each observation (an answer that differs from the last one recorded) with the user's stored state,
    /// fields the answer left out carried forward, and appends history where the state really changed. The
    /// comparison is of codes, so an unchanged or changed user costs no String; the changes are decoded into
    /// `ChangeRecord`s (in the order of `observations`) only when `wantsRecords`.
    private func recordBatch(
        _ observations: [PresenceObservation], _ guids: [UserKey?], observedAt: Timestamp, wantsRecords: Bool,
        _ db: Connection, _ released: inout [Int64]
    ) throws -> StoredChanges {
        // Known keys under one lock for the batch; the rest (new users, ids that are not GUIDs) one by one.
        var keys: [Int64] = known.withLock { table in guids.map { guid in guid.flatMap(table.fileKey(of:)) ?? 0 } }
        for index in observations.indices where keys[index] == 0 {
            keys[index] = try fileKey(of: observations[index].userID, guid: guids[index], creating: true, db)!
        }
        if Set(keys).count != keys.count {
            // A user twice in one batch (not something the poller sends): each observation sees the one before.
            var stored = StoredChanges()
            for index in observations.indices {
                let one = try recordBatch(
                    [observations[index]], [guids[index]], observedAt: observedAt, wantsRecords: wantsRecords, db,
                    &released)
                stored.count += one.count
                stored.records += one.records
            }
            return stored
        }
        let order = keys.indices.sorted { keys[$0] < keys[$1] }
        var pending: [PendingChange] = []
        let release = try db.cachedStatement("DELETE FROM unobserved WHERE user = ?1")
        let read = try CurrentRow.statement(db)
        for index in order {
            let key = keys[index]
            let previous = try CurrentRow.read(read, key: key)
            var codes = try vocabulary.codes(observations[index].state, db)
            if let previous { codes = codes.carryingForward(observations[index].omitted, from: previous.codes) }
            if !unobserved.isEmpty, unobserved.contains(key) {
                try release.execute([.integer(key)])
                released.append(key)
            }
            if let previous, previous.codes == codes { continue }
            // A wall clock stepped backwards must not produce a row that ends before it starts.
            let since = max(observedAt, previous?.since ?? observedAt)
            pending.append(
                PendingChange(
                    index: index, key: key, previous: previous, codes: codes,
                    changed: codes.changedMask(from: previous?.codes), since: since,
                    sequence: StoreLayout.sequenceValue(observations[index].sequenceNumber)))
        }
        guard !pending.isEmpty else { return StoredChanges() }

        let close = try db.cachedStatement("UPDATE history SET valid_to = ?1 WHERE id = ?2")
        for change in pending.filter({ $0.previous != nil }).sorted(by: {
            $0.previous!.historyID < $1.previous!.historyID
        }) {
            try close.bind(change.since.millisecondsSinceEpoch, at: 1)
            try close.bind(change.previous!.historyID, at: 2)
            _ = try close.step()
            close.reset()
        }

        let insert = try db.cachedStatement(
            """
            INSERT INTO history (user, \(StateCodes.columns), sequence_number, changed, valid_from, valid_to, previous)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \(StoreLayout.openValidTo), ?11)
            """)
        for position in pending.indices {
            let change = pending[position]
            try insert.bind(change.key, at: 1)
            try change.codes.bind(to: insert, from: 2)
            try insert.bind(change.sequence, at: 8)
            try insert.bind(change.changed, at: 9)
            try insert.bind(change.since.millisecondsSinceEpoch, at: 10)
            try insert.bind(change.previous?.historyID, at: 11)
            _ = try insert.step()
            insert.reset()
            pending[position].historyID = db.lastInsertRowID
        }

        let upsert = try db.cachedStatement(
            """
            INSERT INTO current (user, history_id, \(StateCodes.columns), sequence_number, since, written)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
            ON CONFLICT (user) DO UPDATE SET history_id = excluded.history_id,
                availability = excluded.availability, activity = excluded.activity,
                status_message = excluded.status_message, out_of_office = excluded.out_of_office,
                out_of_office_message = excluded.out_of_office_message, work_location = excluded.work_location,
                sequence_number = excluded.sequence_number, since = excluded.since,
                written = excluded.written
            """)
        for change in pending {
            try upsert.bind(change.key, at: 1)
            try upsert.bind(change.historyID, at: 2)
            try change.codes.bind(to: upsert, from: 3)
            try upsert.bind(change.sequence, at: 9)
            try upsert.bind(change.since.millisecondsSinceEpoch, at: 10)
            _ = try upsert.step()
            upsert.reset()
        }
        guard wantsRecords else { return StoredChanges(count: pending.count) }
        var records: [ChangeRecord] = []
        records.reserveCapacity(pending.count)
        for change in pending.sorted(by: { $0.index < $1.index }) {
            let observation = observations[change.index]
            let previousState = try change.previous.map { try vocabulary.state($0.codes, db) }
            let state = previousState.map { observation.state.carryingForward(observation.omitted, from: $0) }
            records.append(
                ChangeRecord(
                    historyID: change.historyID, userID: observation.userID, previous: previousState,
                    previousSince: change.previous?.since, current: state ?? observation.state,
                    sequenceNumber: observation.sequenceNumber, changedFields: StoreLayout.fields(change.changed),
                    since: change.since, previousHistoryID: change.previous?.historyID))
        }
        return StoredChanges(count: pending.count, records: records)
    }

    /// Marks users as not observed since now (missing from an answer, or in a batch that failed): their
    /// `last_seen` stops following the sweeps, frozen at its current value, until they are observed again. Their
    /// fingerprints are forgotten, so that their next answer reaches `record` and releases them.
    public func recordUnobserved(_ userIDs: [String]) async throws(StoreError) {
        guard !userIDs.isEmpty else { return }
        try await withConnection("recording \(userIDs.count) users as not observed") { db in
            let added = try db.inTransaction(.immediate) { () throws -> [Int64] in
                try self.freezeLastSeen(of: userIDs, db)
            }
            self.unobserved.formUnion(added)
        }
        forgetFingerprints(of: userIDs)
    }

    /// Copies the derived `last_seen` of each user that has a stored state and no row in `unobserved` yet into
    /// `unobserved`; returns the keys added. Inside the caller's transaction, on the store's queue.
    func freezeLastSeen(of userIDs: [String], _ db: Connection) throws -> [Int64] {
        let freeze = try db.cachedStatement(
            """
            INSERT OR IGNORE INTO unobserved (user, last_seen)
            SELECT c.user, max(c.written, coalesce(\(StoreLayout.milliseconds(
                "(SELECT started_at FROM poll_cycles WHERE sweep = 1 ORDER BY id DESC LIMIT 1)")), 0))
            FROM current AS c WHERE c.user = ?1
            """)
        var added: [Int64] = []
        for userID in userIDs {
            guard let key = try fileKey(of: userID, creating: false, db), !unobserved.contains(key) else { continue }
            try freeze.execute([.integer(key)])
            if db.changes > 0 { added.append(key) }
        }
        return added
    }
}

/// What a batch stored: how many changes, and (when asked for) each as a `ChangeRecord`.
struct StoredChanges {
    var count = 0
    var records: [ChangeRecord] = []
}

extension StateCodes {
    /// The `history.changed` mask of the fields that differ from `previous` (every field for a first state).
    func changedMask(from previous: StateCodes?) -> Int64 {
        guard let previous else { return (1 << Int64(PresenceField.allCases.count)) - 1 }
        var mask: Int64 = 0
        if availability != previous.availability { mask |= 1 }
        if activity != previous.activity { mask |= 2 }
        if statusMessage != previous.statusMessage { mask |= 4 }
        if isOutOfOffice != previous.isOutOfOffice { mask |= 8 }
        if outOfOfficeMessage != previous.outOfOfficeMessage { mask |= 16 }
        if workLocation != previous.workLocation { mask |= 32 }
        return mask
    }

    /// These codes with the `omitted` fields taken from `known` (see `PresenceState.carryingForward`).
    func carryingForward(_ omitted: PresenceFieldSet, from known: StateCodes) -> StateCodes {
        guard !omitted.isEmpty else { return self }
        var codes = self
        if omitted.contains(.statusMessage) { codes.statusMessage = known.statusMessage }
        if omitted.contains(.isOutOfOffice) { codes.isOutOfOffice = known.isOutOfOffice }
        if omitted.contains(.outOfOfficeMessage) { codes.outOfOfficeMessage = known.outOfOfficeMessage }
        if omitted.contains(.workLocationType) { codes.workLocation = known.workLocation }
        return codes
    }
}
