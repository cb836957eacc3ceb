import SQLite

/// A user's row in `current` (behind the `presence_current` view): its open history row, state codes and since.
struct CurrentRow {
    var historyID: Int64
    var codes: StateCodes
    var since: Timestamp

    static func read(_ db: Connection, key: Int64) throws -> CurrentRow? {
        try read(try statement(db), key: key)
    }

    /// The prepared read, for callers that read many rows (`read(_:key:)` with it costs no statement lookup).
    static func statement(_ db: Connection) throws -> Statement {
        try db.cachedStatement("SELECT history_id, since, \(StateCodes.columns) FROM current WHERE user = ?1")
    }

    static func read(_ select: Statement, key: Int64) throws -> CurrentRow? {
        try select.bind(key, at: 1)
        return try select.queryOne { row in
            CurrentRow(
                historyID: row.int64(0), codes: StateCodes(row, from: 2),
                since: Timestamp(millisecondsSinceEpoch: row.int64(1)))
        }
    }
}

extension CurrentRow {
    /// The six state columns of the views (`presence_current`, `presence_history`, `outbox`), as text, in
    /// `PresenceState` order.
    static let stateColumns =
        "availability, activity, status_message, out_of_office, out_of_office_message, work_location"

    /// Reads a state from six consecutive text columns of a view starting at `first`.
    static func state(_ row: Row, from first: Int32) -> PresenceState {
        PresenceState(
            availability: row.text(first) ?? "",
            activity: row.text(first + 1) ?? "",
            statusMessage: row.text(first + 2),
            isOutOfOffice: row.bool(first + 3),
            outOfOfficeMessage: row.text(first + 4),
            workLocationType: row.text(first + 5))
    }
}
