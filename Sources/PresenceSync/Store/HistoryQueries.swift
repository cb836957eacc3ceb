import Foundation
import SQLite

/// A user's row of `presence_current`, for the `current` and `since` commands.
public struct CurrentPresence: Sendable, Equatable {
    public var userID: String
    public var state: PresenceState
    /// When this state began.
    public var since: Timestamp
    /// When Graph last confirmed it.
    public var lastSeen: Timestamp
}

/// One row of `presence_history`: a state and the interval it held.
public struct HistoryEntry: Sendable, Equatable {
    public var id: Int64
    public var userID: String
    public var state: PresenceState
    /// The fields that changed from the previous row (all of them for a first observation).
    public var changedFields: [String]
    public var validFrom: Timestamp
    /// nil while the state is current.
    public var validTo: Timestamp?
}

/// "Since when is this user in this state, and when were they last Available?"
public struct SinceAnswer: Sendable, Equatable {
    /// When the user was last Available, as far as the history knows.
    public enum LastAvailable: Sendable, Equatable {
        /// Available right now.
        case now
        /// The end of the most recent Available interval.
        case at(Timestamp)
        /// Not Available at any time the history covers (it starts at `historyStart`).
        case never(historyStart: Timestamp?)
    }

    public var current: CurrentPresence
    public var lastAvailable: LastAvailable
}

/// What `report` groups time by.
public enum ReportGrouping: String, Sendable, CaseIterable {
    case availability
    case activity
}

/// Time per state per user over a window; each user's rows add up to the part of the window the history covers.
public struct PresenceReport: Sendable, Equatable {
    /// Milliseconds one user spent in one state within the window.
    public struct Row: Sendable, Equatable {
        public var userID: String
        public var state: String
        public var milliseconds: Int64

        public init(userID: String, state: String, milliseconds: Int64) {
            self.userID = userID
            self.state = state
            self.milliseconds = milliseconds
        }
    }

    public var from: Timestamp
    /// The window's end (never after `now`: open intervals end now).
    public var to: Timestamp
    /// Per user, most time first.
    public var rows: [Row]

    /// Per user, the covered time (the sum of their rows), in user order.
    public var coveredMilliseconds: [(userID: String, milliseconds: Int64)] {
        var totals: [(String, Int64)] = []
        for row in rows {
            if totals.last?.0 == row.userID {
                totals[totals.count - 1].1 += row.milliseconds
            } else {
                totals.append((row.userID, row.milliseconds))
            }
        }
        return totals
    }

    public static func == (lhs: PresenceReport, rhs: PresenceReport) -> Bool {
        lhs.from == rhs.from && lhs.to == rhs.to && lhs.rows == rhs.rows
    }
}

/// Read-only questions to a presence database, answered with SQL over `presence_current` and `presence_history`.
///
/// Opens the file read-only, so it is safe while the daemon writes (WAL readers never block the writer, and see
/// only committed batches). Meant for the command line: calls block on SQLite; one query per command.
public final class HistoryDatabase {
    public let path: String
    private let connection: Connection

    /// Opens an existing database read-only; a missing file or a file without our tables is a clear error.
    public init(path: String) throws(StoreError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(
                path: path, operation: "opening", HistoryQueryProblem("no such file (has the daemon run?)"))
        }
        do {
            connection = try Connection(path: path, mode: .readOnly)
            let tables = try connection.prepare(
                "SELECT count(*) FROM sqlite_schema WHERE name IN ('presence_current', 'presence_history')"
            ).queryOne { $0.int(0) }
            guard tables == 2 else { throw HistoryQueryProblem("not a presence-sync database (tables missing)") }
        } catch {
            throw StoreError(path: path, operation: "opening", error)
        }
    }

    /// True when the file records who is tracked (the `users` table exists and has a row): then a user is tracked
    /// exactly while one of its `users` rows is open.
    static func recordsTracking(_ db: Connection) throws -> Bool {
        let exists =
            try db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'users'")
            .queryOne { $0.int(0) } ?? 0
        guard exists > 0 else { return false }
        return try db.prepare("SELECT EXISTS (SELECT 1 FROM users)").queryOne { $0.bool(0) } ?? false
    }

    /// Number of history rows (every user, open and closed).
    public func historyRowCount() throws(StoreError) -> Int {
        try read("counting history rows") { db in
            // The table itself where there is one (schema 9): counting through the view would join every row.
            let compact =
                try db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'history'")
                .queryOne { $0.int(0) } == 1
            return try db.prepare("SELECT count(*) FROM \(compact ? "history" : "presence_history")").queryOne {
                $0.int(0)
            } ?? 0
        }
    }

    /// True when the user has a current state or any history.
    public func isTracked(_ userID: String) throws(StoreError) -> Bool {
        try read("looking up user \(userID)") { db in
            try db.prepare(
                """
                SELECT EXISTS (SELECT 1 FROM presence_current WHERE user_id = ?1)
                    OR EXISTS (SELECT 1 FROM presence_history WHERE user_id = ?1)
                """
            ).queryOne([.text(userID)]) { $0.bool(0) } ?? false
        }
    }

    /// Current states, optionally only one availability (any case) or one user, ordered by user id.
    ///
    /// Without a `userID`, only users tracked now are listed unless `includeUntracked`: a user who left tracking
    /// keeps its `presence_current` row with the last state seen, which would otherwise read as their state now
    /// (a "Busy" from months ago). A database that never recorded tracking (`users` missing or empty, as written
    /// before tracking existed) lists every row. A `userID` asked for by name is always answered.
    public func current(
        availability: String? = nil, userID: String? = nil, includeUntracked: Bool = false
    ) throws(StoreError) -> [CurrentPresence] {
        try read("reading current presence") { db in
            var result: [CurrentPresence] = []
            let onlyTracked = try userID == nil && !includeUntracked && Self.recordsTracking(db)
            try db.prepare(
                """
                SELECT user_id, since, last_seen, \(CurrentRow.stateColumns) FROM presence_current
                WHERE (?1 IS NULL OR availability = ?1 COLLATE NOCASE) AND (?2 IS NULL OR user_id = ?2)
                    \(onlyTracked ? "AND user_id IN (SELECT user_id FROM users WHERE tracking_stopped IS NULL)" : "")
                ORDER BY user_id
                """
            ).query([availability.map(Value.text) ?? .null, userID.map(Value.text) ?? .null]) { row in
                result.append(Self.currentPresence(row))
            }
            return result
        }
    }

    /// The user's history rows that overlap `[from, to)` (either may be nil: unbounded), oldest first.
    public func timeline(of userID: String, from: Timestamp? = nil, to: Timestamp? = nil) throws(StoreError)
        -> [HistoryEntry]
    {
        try read("reading the history of \(userID)") { db in
            var result: [HistoryEntry] = []
            try db.prepare(
                """
                SELECT id, user_id, changed_fields, valid_from, valid_to, \(CurrentRow.stateColumns)
                FROM presence_history
                WHERE user_id = ?1 AND (?2 IS NULL OR valid_to IS NULL OR valid_to > ?2)
                    AND (?3 IS NULL OR valid_from < ?3)
                ORDER BY valid_from, id
                """
            ).query([.text(userID), from.map { .text($0.iso8601) } ?? .null, to.map { .text($0.iso8601) } ?? .null]) {
                row in
                result.append(
                    HistoryEntry(
                        id: row.int64(0), userID: row.text(1) ?? "", state: CurrentRow.state(row, from: 5),
                        changedFields: (row.text(2) ?? "").split(separator: ",").map(String.init),
                        validFrom: Self.timestamp(row.text(3)), validTo: row.text(4).flatMap(Timestamp.init(iso8601:))))
            }
            return result
        }
    }

    /// Every history row with `id` above `afterID`, ordered by user and then id, handed to `body` one at a time
    /// (the benchmark's pass over a whole tenant's history, without holding it in memory).
    public func forEachHistoryRow(afterID: Int64 = 0, _ body: (HistoryEntry) -> Void) throws(StoreError) {
        try read("reading every history row") { db in
            try db.prepare(
                """
                SELECT id, user_id, changed_fields, valid_from, valid_to, \(CurrentRow.stateColumns)
                FROM presence_history WHERE id > ?1 ORDER BY user_id, id
                """
            ).query([.integer(afterID)]) { row in
                body(
                    HistoryEntry(
                        id: row.int64(0), userID: row.text(1) ?? "", state: CurrentRow.state(row, from: 5),
                        changedFields: [], validFrom: Self.timestamp(row.text(3)),
                        validTo: row.text(4).flatMap(Timestamp.init(iso8601:))))
            }
        }
    }

    /// Since when the user is in their current state and when they were last Available; nil when not tracked.
    public func since(_ userID: String) throws(StoreError) -> SinceAnswer? {
        guard let current = try current(userID: userID).first else { return nil }
        if current.state.availability == "Available" { return SinceAnswer(current: current, lastAvailable: .now) }
        return try read("reading when \(userID) was last Available") { db in
            let last =
                try db.prepare(
                    """
                    SELECT max(valid_to) FROM presence_history
                    WHERE user_id = ?1 AND availability = 'Available' AND valid_to IS NOT NULL
                    """
                ).queryOne([.text(userID)]) { $0.text(0) } ?? nil
            if let last, let timestamp = Timestamp(iso8601: last) {
                return SinceAnswer(current: current, lastAvailable: .at(timestamp))
            }
            let start =
                try db.prepare("SELECT min(valid_from) FROM presence_history WHERE user_id = ?1")
                .queryOne([.text(userID)]) { $0.text(0) } ?? nil
            return SinceAnswer(
                current: current, lastAvailable: .never(historyStart: start.flatMap(Timestamp.init(iso8601:))))
        }
    }

    /// The earliest `valid_from` (of one user, or of everyone), nil for an empty history.
    public func historyStart(of userID: String? = nil) throws(StoreError) -> Timestamp? {
        try read("reading the start of the history") { db in
            let text =
                try db.prepare("SELECT min(valid_from) FROM presence_history WHERE ?1 IS NULL OR user_id = ?1")
                .queryOne([userID.map(Value.text) ?? .null]) { $0.text(0) } ?? nil
            return text.flatMap(Timestamp.init(iso8601:))
        }
    }

    /// Time per state per user within `[from, min(to, now))`, from `valid_from`/`valid_to` (open rows end `now`),
    /// each interval clipped to the window. Arithmetic is in whole milliseconds, so a user's rows add up exactly to
    /// the covered part of the window (history intervals are contiguous).
    public func report(
        from: Timestamp, to: Timestamp, now: Timestamp, by grouping: ReportGrouping, userID: String? = nil
    ) throws(StoreError) -> PresenceReport {
        let end = min(to, now)
        return try read("computing the report") { db in
            let milliseconds = { (column: String) in
                "CAST(round((julianday(\(column)) - 2440587.5) * 86400000.0) AS INTEGER)"
            }
            let statement = try db.prepare(
                """
                WITH h AS (
                    SELECT user_id, \(grouping.rawValue) AS state, \(milliseconds("valid_from")) AS start_ms,
                        CASE WHEN valid_to IS NULL THEN ?3 ELSE \(milliseconds("valid_to")) END AS end_ms
                    FROM presence_history
                    WHERE valid_from < ?5 AND (valid_to IS NULL OR valid_to > ?4) AND (?6 IS NULL OR user_id = ?6)
                )
                SELECT user_id, state, sum(min(end_ms, ?2) - max(start_ms, ?1)) AS ms
                FROM h WHERE min(end_ms, ?2) > max(start_ms, ?1)
                GROUP BY user_id, state
                ORDER BY user_id, ms DESC, state
                """)
            var rows: [PresenceReport.Row] = []
            try statement.query([
                .integer(from.millisecondsSinceEpoch), .integer(end.millisecondsSinceEpoch),
                .integer(now.millisecondsSinceEpoch), .text(from.iso8601), .text(end.iso8601),
                userID.map(Value.text) ?? .null,
            ]) { row in
                rows.append(.init(userID: row.text(0) ?? "", state: row.text(1) ?? "", milliseconds: row.int64(2)))
            }
            return PresenceReport(from: from, to: end, rows: rows)
        }
    }

    private func read<T>(_ operation: String, _ body: (Connection) throws -> T) throws(StoreError) -> T {
        do {
            return try body(connection)
        } catch {
            throw StoreError(path: path, operation: operation, error)
        }
    }

    private static func currentPresence(_ row: Row) -> CurrentPresence {
        CurrentPresence(
            userID: row.text(0) ?? "", state: CurrentRow.state(row, from: 3), since: timestamp(row.text(1)),
            lastSeen: timestamp(row.text(2)))
    }

    private static func timestamp(_ text: String?) -> Timestamp {
        text.flatMap(Timestamp.init(iso8601:)) ?? Timestamp(millisecondsSinceEpoch: 0)
    }
}

/// Why a history query could not run (beyond SQLite's own errors).
struct HistoryQueryProblem: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
