import PresenceSync
import SQLite

/// Reads a presence database the way an operator would: through its own read-only connection.
public struct HistoryReader {
    public let connection: Connection

    public init(path: String) throws { connection = try Connection(path: path, mode: .readOnly) }

    /// Every history row of `user`, oldest first, as states.
    public func states(of user: String) throws -> [PresenceState] {
        var states: [PresenceState] = []
        try connection.prepare(
            """
            SELECT availability, activity, status_message, out_of_office, out_of_office_message, work_location
            FROM presence_history WHERE user_id = ? ORDER BY id
            """
        ).query([.text(user)]) { row in
            states.append(
                PresenceState(
                    availability: row.text(0) ?? "", activity: row.text(1) ?? "", statusMessage: row.text(2),
                    isOutOfOffice: row.bool(3), outOfOfficeMessage: row.text(4), workLocationType: row.text(5)))
        }
        return states
    }

    /// A single integer from a query such as `SELECT count(*) ...`.
    public func integer(_ sql: String) throws -> Int {
        try connection.prepare(sql).queryOne { $0.int(0) } ?? 0
    }

    /// Problems with the history's invariants: one open row per user, contiguous validity intervals,
    /// no two consecutive rows with the same state, and presence_current pointing at the open row.
    public func invariantViolations() throws -> [String] {
        var problems: [String] = []
        let checks: [(String, String)] = [
            (
                "users with more or fewer than one open row",
                "SELECT count(*) FROM (SELECT user_id, sum(valid_to IS NULL) AS open FROM presence_history GROUP BY user_id HAVING open != 1)"
            ),
            (
                "rows whose valid_to is not the next row's valid_from",
                """
                SELECT count(*) FROM (SELECT valid_to, lead(valid_from) OVER (PARTITION BY user_id ORDER BY id) AS next
                FROM presence_history) WHERE valid_to IS NOT next
                """
            ),
            (
                "consecutive rows with the same state",
                """
                SELECT count(*) FROM (SELECT availability || '|' || activity || '|' || ifnull(status_message, '~') || '|'
                    || out_of_office || '|' || ifnull(out_of_office_message, '~') || '|' || ifnull(work_location, '~') AS s,
                    lag(availability || '|' || activity || '|' || ifnull(status_message, '~') || '|' || out_of_office
                    || '|' || ifnull(out_of_office_message, '~') || '|' || ifnull(work_location, '~'))
                    OVER (PARTITION BY user_id ORDER BY id) AS p FROM presence_history) WHERE s = p
                """
            ),
            (
                "current rows not pointing at their user's open history row",
                """
                SELECT count(*) FROM presence_current c LEFT JOIN presence_history h ON h.id = c.history_id
                WHERE h.valid_to IS NOT NULL OR h.user_id IS NOT c.user_id OR h.availability IS NOT c.availability
                   OR h.valid_from IS NOT c.since
                """
            ),
            (
                "users in history without a current row",
                "SELECT count(DISTINCT user_id) FROM presence_history WHERE user_id NOT IN (SELECT user_id FROM presence_current)"
            ),
        ]
        for (name, sql) in checks {
            let count = try integer(sql)
            if count != 0 { problems.append("\(count) \(name)") }
        }
        return problems
    }
}

extension HistoryReader {
    /// Waits until `condition` holds on a fresh read-only look at the database (at most `seconds`): a state the
    /// test can wait for, instead of sleeping and hoping it has been reached.
    public static func eventually(
        _ database: String, seconds: Double = 15, _ condition: (HistoryReader) throws -> Bool
    ) async -> Bool {
        await TestSupport.eventually(seconds: seconds) { try condition(try HistoryReader(path: database)) }
    }
}
