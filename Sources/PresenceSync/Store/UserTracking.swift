import SQLite

/// Why a user is tracked: listed by object id, listed by UPN, or a member of a group.
///
/// Stored as text in `users.source`: `id`, `upn:<upn, lower-cased>`, `group:<group object id>`.
public struct UserSource: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The stored text.
    public let text: String

    public init(text: String) { self.text = text }

    /// Listed directly by object id.
    public static let objectID = UserSource(text: "id")

    /// Listed by user principal name (compared case-insensitively, as Entra does).
    public static func userPrincipalName(_ upn: String) -> UserSource { UserSource(text: "upn:" + upn.lowercased()) }

    /// A transitive member of the group.
    public static func group(_ groupID: String) -> UserSource { UserSource(text: "group:" + groupID.lowercased()) }

    public var description: String { text }

    public static func < (lhs: UserSource, rhs: UserSource) -> Bool { lhs.text < rhs.text }
}

/// Who is tracked through which source: the desired set of open tracking periods.
public typealias TrackedMembership = [UserSource: [DirectoryUser]]

/// One user tracked through one source.
public struct TrackingPeriodKey: Sendable, Hashable, CustomStringConvertible {
    public var userID: String
    public var source: UserSource

    public init(userID: String, source: UserSource) {
        self.userID = userID
        self.source = source
    }

    public var description: String { "\(userID) (\(source))" }
}

/// What one `recordTracking` changed in the `users` table.
///
/// The counts are exact; the lists keep the first `examples` periods only (for the log and the tests): a first
/// start with 100,000 listed ids would otherwise hold a second list of every id just to say "100000 started".
public struct TrackingChanges: Sendable, Equatable {
    /// How many periods each list keeps at most.
    public static let examples = 1000
    /// Periods opened (the first `examples`).
    public private(set) var started: [TrackingPeriodKey] = []
    /// Periods closed (the first `examples`).
    public private(set) var stopped: [TrackingPeriodKey] = []
    /// How many periods were opened.
    public private(set) var startedCount = 0
    /// How many periods were closed.
    public private(set) var stoppedCount = 0

    public init() {}

    mutating func didStart(_ key: TrackingPeriodKey) {
        startedCount += 1
        if started.count < Self.examples { started.append(key) }
    }

    mutating func didStop(_ key: TrackingPeriodKey) {
        stoppedCount += 1
        if stopped.count < Self.examples { stopped.append(key) }
    }
}

extension PresenceStore {
    /// The open tracking periods in the `users` table, by source: what the last resolution decided.
    ///
    /// - Parameter includingListedIDs: false leaves out the `id` source (ids listed in the configuration), which a
    ///   resolution always takes from the configuration itself: at 100,000 listed ids that saves reading (and
    ///   holding) a second copy of every id.
    public func openTrackingPeriods(includingListedIDs: Bool = true) async throws(StoreError) -> TrackedMembership {
        try await withConnection("reading tracked users") { db in
            var membership: TrackedMembership = [:]
            try db.prepare(
                """
                SELECT user_id, source, user_principal_name FROM users
                WHERE tracking_stopped IS NULL AND (?1 OR source <> 'id') ORDER BY id
                """
            ).query([.integer(includingListedIDs ? 1 : 0)]) { row in
                let source = UserSource(text: row.text(1) ?? "")
                membership[source, default: []].append(
                    DirectoryUser(id: row.text(0) ?? "", userPrincipalName: row.text(2)))
            }
            return membership
        }
    }

    /// Makes the open periods in `users` match `membership`, in one transaction.
    ///
    /// An open (user, source) period missing from `membership` gets `tracking_stopped = at`; a pair in
    /// `membership` without an open period gets a new row starting `at`. A UPN learned for an open period that
    /// had none is filled in. Rows are never deleted, so a user's tracking periods stay as history.
    ///
    /// Memory matters here (100,000 members are common, and a restart compares all of them with as many open
    /// rows): each source is a merge of two sorted sequences, its members (as sorted indices) and its open rows
    /// read in `user_id` order (index `users_open_by_source`), so no id read from the file outlives its row.
    /// Indexing the open rows by id instead held a second copy of every id plus a dictionary: 20 MB at 100,000.
    @discardableResult
    public func recordTracking(
        _ membership: TrackedMembership, at time: Timestamp
    ) async throws(StoreError) -> TrackingChanges {
        let (changes, left) = try await withConnection("recording tracked users") { db in
            try db.inTransaction(.immediate) {
                var sources = Set(membership.keys)
                try db.prepare("SELECT DISTINCT source FROM users WHERE tracking_stopped IS NULL").query { row in
                    sources.insert(UserSource(text: row.text(0) ?? ""))
                }
                var changes = TrackingChanges()
                let now = time.iso8601
                for source in sources.sorted() {
                    try Self.recordTracking(of: source, members: membership[source] ?? [], now: now, db, &changes)
                }
                let left = try Self.usersLeft(changes, now: now, db)
                let frozen = try self.freezeLastSeen(of: left, db)
                self.unobserved.formUnion(frozen)
                return (changes, left)
            }
        }
        forgetFingerprints(of: left)
        return changes
    }

    /// The users whose periods this transaction stopped (at `now`) and who have no open period left: no longer
    /// tracked at all. Read only when some period stopped (a scan of `users`, a few milliseconds per 100,000 rows).
    private static func usersLeft(_ changes: TrackingChanges, now: String, _ db: Connection) throws -> [String] {
        guard changes.stoppedCount > 0 else { return [] }
        var left: [String] = []
        try db.prepare(
            """
            SELECT DISTINCT user_id FROM users WHERE tracking_stopped >= ?1
            AND user_id NOT IN (SELECT user_id FROM users WHERE tracking_stopped IS NULL)
            """
        ).query([.text(now)]) { row in left.append(row.text(0) ?? "") }
        return left
    }

    /// Forgets the fingerprints of users who stopped being observed, so that their next answer is compared with the
    /// file (and releases their row in `unobserved`).
    func forgetFingerprints(of userIDs: [String]) {
        guard !userIDs.isEmpty else { return }
        known.withLock { table in
            for userID in userIDs { if let key = UserKey(userID) { table.set(key, 0) } }
        }
    }

    /// One source's part of `recordTracking`: the merge of its members with its open rows.
    private static func recordTracking(
        of source: UserSource, members: [DirectoryUser], now: String, _ db: Connection, _ changes: inout TrackingChanges
    ) throws {
        // Byte order on both sides: SQLite's BINARY collation compares UTF-8 bytes.
        let order = members.indices.sorted { members[$0].id.utf8.lexicographicallyPrecedes(members[$1].id.utf8) }
        var next = order.startIndex
        var starting: [Int] = []
        var filling: [(rowID: Int64, upn: String)] = []
        var ending: [Int64] = []
        /// Equal as bytes, as SQLite compares them (Swift's `==` would also match canonically equivalent spellings).
        func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
        /// Moves past every member listed with the id at `next` and returns the one to keep: the first listed with
        /// a UPN, else the first.
        func takeRun() -> Int {
            var kept = order[next]
            let id = members[kept].id
            while next < order.endIndex, same(members[order[next]].id, id) {
                if members[kept].userPrincipalName == nil && members[order[next]].userPrincipalName != nil {
                    kept = order[next]
                }
                next += 1
            }
            return kept
        }
        /// Moves past the members before `userID` (they have no open row, so they start) and returns the member
        /// listed as `userID`, if any, moving past it too. A member listed twice counts once.
        func advance(to userID: String?) -> DirectoryUser? {
            while next < order.endIndex {
                if let userID, !members[order[next]].id.utf8.lexicographicallyPrecedes(userID.utf8) { break }
                starting.append(takeRun())
            }
            guard let userID, next < order.endIndex, same(members[order[next]].id, userID) else { return nil }
            return members[takeRun()]
        }
        try db.prepare(
            """
            SELECT id, user_id, user_principal_name IS NOT NULL FROM users
            WHERE tracking_stopped IS NULL AND source = ?1 ORDER BY user_id
            """
        ).query([.text(source.text)]) { row in
            let userID = row.text(1) ?? ""
            guard let member = advance(to: userID) else {
                ending.append(row.int64(0))
                changes.didStop(TrackingPeriodKey(userID: userID, source: source))
                return
            }
            if !row.bool(2), let upn = member.userPrincipalName { filling.append((row.int64(0), upn)) }
        }
        _ = advance(to: nil)
        // Written after the read, so the rows being read never change under it.
        let close = try db.cachedStatement(
            "UPDATE users SET tracking_stopped = max(?1, tracking_started) WHERE id = ?2")
        for rowID in ending { try close.execute([.text(now), .integer(rowID)]) }
        let fill = try db.cachedStatement("UPDATE users SET user_principal_name = ?1 WHERE id = ?2")
        for (rowID, upn) in filling { try fill.execute([.text(upn), .integer(rowID)]) }
        let insert = try db.cachedStatement(
            "INSERT INTO users (user_id, source, user_principal_name, tracking_started) VALUES (?1, ?2, ?3, ?4)")
        for index in starting.sorted() {
            let user = members[index]
            try insert.execute([
                .text(user.id), .text(source.text), user.userPrincipalName.map(Value.text) ?? .null, .text(now),
            ])
            changes.didStart(TrackingPeriodKey(userID: user.id, source: source))
        }
    }
}
