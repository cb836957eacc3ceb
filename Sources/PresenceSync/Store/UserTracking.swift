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
    /// Memory matters here (100,000 members are common): the open periods are indexed per source by user id only,
    /// and a member listed twice is skipped by the table's unique index rather than by a set of every pair.
    @discardableResult
    public func recordTracking(
        _ membership: TrackedMembership, at time: Timestamp
    ) async throws(StoreError) -> TrackingChanges {
        try await withConnection("recording tracked users") { db in
            try db.inTransaction(.immediate) {
                var open: [UserSource: [String: OpenPeriod]] = [:]
                try db.prepare(
                    "SELECT id, user_id, source, user_principal_name IS NOT NULL FROM users WHERE tracking_stopped IS NULL"
                )
                .query { row in
                    open[UserSource(text: row.text(2) ?? ""), default: [:]][row.text(1) ?? ""] = OpenPeriod(
                        rowID: row.int64(0), hasUserPrincipalName: row.bool(3))
                }
                var changes = TrackingChanges()
                let now = time.iso8601
                // DO NOTHING: a member listed twice in one source already has its open period (unique index).
                let insert = try db.cachedStatement(
                    """
                    INSERT INTO users (user_id, source, user_principal_name, tracking_started)
                    VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING
                    """)
                let fill = try db.cachedStatement("UPDATE users SET user_principal_name = ?1 WHERE id = ?2")
                for source in membership.keys.sorted() {
                    var openOfSource = open.removeValue(forKey: source) ?? [:]
                    for user in membership[source] ?? [] {
                        if let existing = openOfSource.removeValue(forKey: user.id) {
                            if !existing.hasUserPrincipalName, let upn = user.userPrincipalName {
                                try fill.execute([.text(upn), .integer(existing.rowID)])
                            }
                            continue
                        }
                        try insert.execute([
                            .text(user.id), .text(source.text), user.userPrincipalName.map(Value.text) ?? .null,
                            .text(now),
                        ])
                        if db.changes == 1 { changes.didStart(TrackingPeriodKey(userID: user.id, source: source)) }
                    }
                    if !openOfSource.isEmpty { open[source] = openOfSource }
                }
                let close = try db.cachedStatement(
                    "UPDATE users SET tracking_stopped = max(?1, tracking_started) WHERE id = ?2")
                let ending = open.flatMap { source, periods in
                    periods.map { (key: TrackingPeriodKey(userID: $0.key, source: source), rowID: $0.value.rowID) }
                }
                for period in ending.sorted(by: { $0.rowID < $1.rowID }) {
                    try close.execute([.text(now), .integer(period.rowID)])
                    changes.didStop(period.key)
                }
                return changes
            }
        }
    }
}

/// An open row of `users`, as `recordTracking` compares it with the new membership.
private struct OpenPeriod {
    var rowID: Int64
    var hasUserPrincipalName: Bool
}
