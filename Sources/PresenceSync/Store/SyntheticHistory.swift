import Foundation
import SQLite

/// A history grown in advance, so that the benchmark measures the store where it spends most of its life (tens of
/// millions of rows) without polling for a week first.
///
/// The rows go straight into the compact tables in one statement each, in rounds: round r gives every user one
/// row, valid from `r × spacing` before the last round and closed when the next round opens; the last round's rows
/// are open and are each user's current state. States cycle through a realistic mix (availability and activity
/// pairs, a status message for one user in five, a work location), so codes, messages and row sizes are those of a
/// real tenant. 20 million rows take a few minutes.
public enum SyntheticHistory {
    /// Creates the database at `path` (it must not exist) holding `rows` history rows spread over `userIDs`, the
    /// last round ending at `end`, rounds `spacing` apart.
    public static func grow(
        path: String, userIDs: [String], rows: Int, end: Timestamp, spacing: Duration = .seconds(60)
    ) throws(StoreError) {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StoreError(path: path, operation: "growing a history", HistoryQueryProblem("the file exists"))
        }
        guard !userIDs.isEmpty, rows >= userIDs.count else {
            throw StoreError(
                path: path, operation: "growing a history",
                HistoryQueryProblem("needs at least one row per user (\(userIDs.count) users, \(rows) rows)"))
        }
        do {
            let db = try Connection(path: path, mode: .readWriteCreate, busyTimeoutMilliseconds: 5000)
            try PresenceStore.configure(db, synchronous: .normal)
            try db.execute("PRAGMA synchronous = OFF")
            try Migrator(Schema.migrations).migrate(db)
            try db.execute("PRAGMA cache_size = -262144")
            let users = Int64(userIDs.count)
            let rounds = (Int64(rows) + users - 1) / users
            let spacingMilliseconds = spacing.components.seconds * 1000
            let first = end.millisecondsSinceEpoch - (rounds - 1) * spacingMilliseconds
            try db.inTransaction(.immediate) {
                let insertUser = try db.prepare("INSERT INTO user_keys (key, user_id) VALUES (?1, ?2)")
                for (index, userID) in userIDs.enumerated() {
                    try insertUser.execute([.integer(Int64(index + 1)), .text(userID)])
                }
                try db.execute(
                    """
                    INSERT INTO words (code, word) VALUES (1, 'Available'), (2, 'Busy'), (3, 'Away'),
                        (4, 'DoNotDisturb'), (5, 'BeRightBack'), (6, 'Offline'), (7, 'InAMeeting'), (8, 'InACall'),
                        (9, 'Presenting'), (10, 'OffWork'), (11, 'office'), (12, 'remote');
                    INSERT INTO messages (code, text) VALUES (1, 'In a meeting until 3'),
                        (2, 'Working from home, back at 2pm'), (3, 'On leave until Monday'),
                        (4, 'Focus time: chat only'), (5, 'Travelling');
                    """)
                // Row i (0-based): user (i % users) + 1, round i / users; the state is a function of i.
                try db.prepare(
                    """
                    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
                    INSERT INTO history (id, user, availability, activity, status_message, out_of_office,
                        out_of_office_message, work_location, sequence_number, changed, valid_from, valid_to, previous)
                    SELECT i + 1, i % ?2 + 1,
                           (i * 7 + i / ?2) % 6 + 1,
                           CASE (i * 7 + i / ?2) % 6 WHEN 1 THEN 7 + (i % 3) ELSE (i * 7 + i / ?2) % 6 + 1 END,
                           iif(i % 5 = 0, (i / 5) % 5 + 1, NULL), 0, NULL, 11 + (i % 2),
                           68719476736 + i, iif(i < ?2, 63, 3),
                           ?3 + (i / ?2) * ?4,
                           iif(i / ?2 = ?5 - 1, \(StoreLayout.openValidTo), ?3 + (i / ?2 + 1) * ?4),
                           iif(i < ?2, NULL, i + 1 - ?2)
                    FROM n
                    """
                ).execute([
                    .integer(rounds * users), .integer(users), .integer(first), .integer(spacingMilliseconds),
                    .integer(rounds),
                ])
                try db.execute(
                    """
                    INSERT INTO current (user, history_id, availability, activity, status_message, out_of_office,
                        out_of_office_message, work_location, sequence_number, since, written)
                    SELECT user, id, availability, activity, status_message, out_of_office, out_of_office_message,
                           work_location, sequence_number, valid_from, valid_from
                    FROM history WHERE valid_to = \(StoreLayout.openValidTo) ORDER BY user;
                    """)
            }
            try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            try db.close()
        } catch {
            throw StoreError(path: path, operation: "growing a history of \(rows) rows", error)
        }
    }
}
