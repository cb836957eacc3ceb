import Foundation
import SQLite

@testable import PresenceSync

/// Writes a database as the store of schema 8 (before the compact rows) left it: the text tables of migrations
/// 1-8, filled with the statements that store ran, in its order (close the previous history row, append the new
/// one, replace `presence_state`, append the outbox row with the previous state), then the traces of a life in
/// production: history retention that deleted the oldest closed rows (so some outbox rows outlived their history
/// row or their previous row), cursors at different places, a dead letter, a requeued event, a disabled endpoint,
/// a user no longer tracked, a user missing from answers.
///
/// A generator rather than a committed binary file, so the file it describes stays readable and reviewable.
struct Schema8File {
    var users: Int
    var rounds: Int
    /// Every `rounds`-th user keeps its first history rows past retention; the others lose their first round.
    var start = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    static func userID(_ index: Int) -> String {
        let hex = String(index, radix: 16)
        return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - hex.count) + hex
    }

    /// A state that differs from the one of the round before for every user.
    static func state(user: Int, round: Int) -> PresenceState {
        let pairs = [("Available", "Available"), ("Busy", "InAMeeting"), ("Away", "Away"), ("Busy", "InACall")]
        let (availability, activity) = pairs[(user + round) % pairs.count]
        return PresenceState(
            availability: availability, activity: activity,
            statusMessage: (user + round) % 3 == 0 ? "Back at 2 \u{2013} \u{201C}ping me\u{201D} #\(user % 7)" : nil,
            isOutOfOffice: (user + round) % 11 == 0,
            outOfOfficeMessage: (user + round) % 11 == 0 ? "Away until Monday" : nil,
            workLocationType: user % 5 == 0 ? nil : ["office", "remote"][round % 2])
    }

    /// Sequence numbers in both forms seen: 16 hex digits (stored as an integer now) and anything else (text).
    static func sequenceNumber(user: Int, round: Int) -> String? {
        switch user % 3 {
        case 0: return String(format: "%016llX", UInt64(0x10_0000_0000 + user * 1000 + round))
        case 1: return "C\(round)-\(user)"
        default: return nil
        }
    }

    func time(_ round: Int) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(round) * 60_000)
    }

    /// Writes the file at `path`; returns the history id of each (round, user), nil where retention deleted it.
    @discardableResult
    func write(path: String) throws -> [[Int64]] {
        let db = try Connection(path: path, mode: .readWriteCreate)
        defer { try? db.close() }
        try db.execute("PRAGMA journal_mode = WAL")
        try Migrator(Array(Schema.migrations.prefix(8))).migrate(db)
        var ids: [[Int64]] = []
        try db.inTransaction(.immediate) {
            try db.execute(
                """
                INSERT INTO store_info (key, value) VALUES ('instance_id', 'schema8-file'),
                    ('created_at', '\(start.iso8601)')
                """)
            let close = try db.prepare("UPDATE presence_history SET valid_to = ?1 WHERE id = ?2")
            let append = try db.prepare(
                """
                INSERT INTO presence_history (user_id, \(CurrentRow.stateColumns), sequence_number, changed_fields,
                    valid_from) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                """)
            let replace = try db.prepare(
                """
                INSERT OR REPLACE INTO presence_state (user_id, history_id, \(CurrentRow.stateColumns),
                    sequence_number, since, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
                """)
            let event = try db.prepare(
                """
                INSERT INTO outbox (history_id, user_id, previous_availability, previous_activity,
                    previous_status_message, previous_out_of_office, previous_out_of_office_message,
                    previous_work_location, previous_since, \(CurrentRow.stateColumns), sequence_number,
                    changed_fields, since)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
                """)
            for round in 0..<rounds {
                var roundIDs: [Int64] = []
                for user in 0..<users {
                    let userID = Self.userID(user)
                    let state = Self.state(user: user, round: round)
                    let previous = round > 0 ? Self.state(user: user, round: round - 1) : nil
                    let fields = Differ.changedFields(from: previous, to: state).map(\.rawValue).joined(separator: ",")
                    let since = time(round).iso8601
                    let sequence = Self.sequenceNumber(user: user, round: round)
                    if round > 0 { try close.execute([.text(since), .integer(ids[round - 1][user])]) }
                    try append.bind(userID, at: 1)
                    try bind(state, append, from: 2)
                    try append.bind(sequence, at: 8)
                    try append.bind(fields, at: 9)
                    try append.bind(since, at: 10)
                    _ = try append.step()
                    append.reset()
                    let id = db.lastInsertRowID
                    roundIDs.append(id)
                    try replace.bind(userID, at: 1)
                    try replace.bind(id, at: 2)
                    try bind(state, replace, from: 3)
                    try replace.bind(sequence, at: 9)
                    try replace.bind(since, at: 10)
                    _ = try replace.step()
                    replace.reset()
                    try event.bind(id, at: 1)
                    try event.bind(userID, at: 2)
                    if let previous {
                        try bind(previous, event, from: 3)
                        try event.bind(time(round - 1).iso8601, at: 9)
                    } else {
                        for index: Int32 in 3...9 { try event.bind(.null, at: index) }
                    }
                    try bind(state, event, from: 10)
                    try event.bind(sequence, at: 16)
                    try event.bind(fields, at: 17)
                    try event.bind(since, at: 18)
                    _ = try event.step()
                    event.reset()
                }
                ids.append(roundIDs)
                try db.execute(
                    """
                    INSERT INTO poll_cycles (started_at, finished_at, users, observed, changes, missing, failed_batches,
                        unexpected_ids, sweep)
                    VALUES ('\(time(round).iso8601)', '\(time(round).iso8601)', \(users), \(users), \(users), 0, 0, 0, 1)
                    """)
            }
            // History retention of schema 8: the first round of every user but each third is gone; their outbox
            // rows stayed (the outbox was self-contained), as did the next round's events that carry them.
            let prune = try db.prepare("DELETE FROM presence_history WHERE id = ?1")
            for user in 0..<users where user % 3 != 0 { try prune.execute([.integer(ids[0][user])]) }
            let middle = ids[rounds / 2][0]
            try db.execute(
                """
                INSERT INTO outbox_cursors (sink, delivered_through, updated_at) VALUES
                    ('stdout', \(ids[rounds - 1][users - 1]), '\(time(rounds).iso8601)'),
                    ('webhook:crm', \(middle), '\(time(rounds).iso8601)'),
                    ('webhook:lagging', 0, '\(time(0).iso8601)');
                INSERT INTO webhook_dead_letters (endpoint, history_id, user_id, attempts, last_error, failed_at)
                VALUES ('crm', \(ids[1][1]), '\(Self.userID(1))', 7, 'HTTP 422', '\(time(2).iso8601)');
                INSERT INTO webhook_requeued (endpoint, history_id) VALUES ('crm', \(ids[0][1]));
                INSERT INTO webhook_endpoints_disabled (endpoint, reason, disabled_at)
                VALUES ('old', 'the receiver answered 410 Gone', '\(time(1).iso8601)');
                INSERT INTO users (user_id, source, tracking_started, tracking_stopped)
                SELECT user_id, 'id', '\(time(0).iso8601)',
                       CASE WHEN user_id = '\(Self.userID(2))' THEN '\(time(rounds).iso8601)' END
                FROM presence_state;
                INSERT INTO presence_unobserved (user_id, last_seen)
                VALUES ('\(Self.userID(2))', '\(time(rounds - 1).iso8601)'),
                       ('\(Self.userID(4))', '\(time(rounds - 2).iso8601)');
                """)
        }
        return ids
    }

    private func bind(_ state: PresenceState, _ statement: Statement, from first: Int32) throws {
        try statement.bind(state.availability, at: first)
        try statement.bind(state.activity, at: first + 1)
        try statement.bind(state.statusMessage, at: first + 2)
        try statement.bind(state.isOutOfOffice, at: first + 3)
        try statement.bind(state.outOfOfficeMessage, at: first + 4)
        try statement.bind(state.workLocationType, at: first + 5)
    }

    /// Every row a reader sees through the documented names, as text: what a migration must keep.
    static func documentedRows(_ path: String) throws -> [String: [[String?]]] {
        let db = try Connection(path: path, mode: .readOnly)
        defer { try? db.close() }
        var tables: [String: [[String?]]] = [:]
        for (name, sql) in [
            ("presence_history", "SELECT * FROM presence_history ORDER BY id"),
            ("presence_current", "SELECT * FROM presence_current ORDER BY user_id"),
            ("presence_unobserved", "SELECT * FROM presence_unobserved ORDER BY user_id"),
            ("outbox", "SELECT * FROM outbox ORDER BY history_id"),
            ("outbox_cursors", "SELECT * FROM outbox_cursors ORDER BY sink"),
            ("webhook_dead_letters", "SELECT * FROM webhook_dead_letters ORDER BY endpoint, history_id"),
            ("webhook_requeued", "SELECT * FROM webhook_requeued ORDER BY endpoint, history_id"),
            ("webhook_endpoints_disabled", "SELECT * FROM webhook_endpoints_disabled ORDER BY endpoint"),
            ("users", "SELECT * FROM users ORDER BY id"),
            // Schema 8's columns: later migrations add columns of their own (schema 11: requests, budget use).
            (
                "poll_cycles",
                """
                SELECT id, started_at, finished_at, users, observed, changes, missing, failed_batches, unexpected_ids,
                       sweep
                FROM poll_cycles ORDER BY id
                """
            ),
            ("store_info", "SELECT * FROM store_info ORDER BY key"),
        ] {
            var rows: [[String?]] = []
            try db.prepare(sql).query { row in rows.append((0..<row.count).map { row.text($0) }) }
            tables[name] = rows
        }
        return tables
    }
}
