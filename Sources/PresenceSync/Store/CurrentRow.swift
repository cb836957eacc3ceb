import SQLite

/// A user's row in `current` (behind the `presence_current` view): its open history row, state codes and since.
struct CurrentRow {
    var historyID: Int64
    var codes: StateCodes
    var since: Timestamp

    /// The prepared read of a row by user key (`read(_:key:)`), fetched once for a whole batch.
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
    static let stateColumns = StateCodes.columns

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
