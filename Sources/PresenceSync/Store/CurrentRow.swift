import SQLite

/// A user's row in `presence_state` (behind the `presence_current` view), and the column helpers shared by the
/// tables that hold a state.
struct CurrentRow {
    var historyID: Int64
    var state: PresenceState
    var since: Timestamp

    /// The six state columns, in `PresenceState` order, as both tables name them.
    static let stateColumns =
        "availability, activity, status_message, out_of_office, out_of_office_message, work_location"

    /// Reads a state from six consecutive columns starting at `first`.
    static func state(_ row: Row, from first: Int32) -> PresenceState {
        PresenceState(
            availability: row.text(first) ?? "",
            activity: row.text(first + 1) ?? "",
            statusMessage: row.text(first + 2),
            isOutOfOffice: row.bool(first + 3),
            outOfOfficeMessage: row.text(first + 4),
            workLocationType: row.text(first + 5))
    }

    /// Binds a state to six consecutive parameters starting at `first`.
    static func bind(_ state: PresenceState, to statement: Statement, from first: Int32) throws {
        try statement.bind(state.availability, at: first)
        try statement.bind(state.activity, at: first + 1)
        try statement.bind(state.statusMessage, at: first + 2)
        try statement.bind(state.isOutOfOffice, at: first + 3)
        try statement.bind(state.outOfOfficeMessage, at: first + 4)
        try statement.bind(state.workLocationType, at: first + 5)
    }

    static func read(_ db: Connection, userID: String) throws -> CurrentRow? {
        let select = try db.cachedStatement(
            "SELECT history_id, since, \(stateColumns) FROM presence_state WHERE user_id = ?1")
        return try select.queryOne([.text(userID)]) { row in
            CurrentRow(
                historyID: row.int64(0),
                state: state(row, from: 2),
                since: row.text(1).flatMap(Timestamp.init(iso8601:)) ?? Timestamp(millisecondsSinceEpoch: 0))
        }
    }
}
