import SQLite

/// The store's physical layout since schema 9, and the SQL that turns it back into the documented views.
///
/// Operators and the README's queries see `presence_current`, `presence_history`, `presence_unobserved` and
/// `outbox` with text user ids and ISO-8601 times, as before. Underneath, every history row is a handful of small
/// integers: the user by key (`user_keys`), availability, activity and work location by code (`words`), messages
/// by code (`messages`), times in milliseconds, the changed fields as a bit mask. What made the old layout cost was
/// one random leaf per change in a per-user index far larger than any cache; `history_by_user` leads with a period
/// (a block of 65,536 row ids), so a cycle's inserts land in the few pages of the newest period, and one user's
/// rows are one short index range per period (SQLite walks the periods with a skip-scan, which `sqlite_stat1`
/// enables). The history is also the event log: an event is a history row and the user's previous row.
enum StoreLayout {
    /// `valid_to` of an open history row: the largest 6-byte integer, so closing the row rewrites 6 bytes in place
    /// instead of growing it (a NULL that later grows splits the densely packed pages of the history).
    static let openValidTo: Int64 = 140_737_488_355_327
    /// Row ids per period of `history_by_user` (the shift of `id >> 16`).
    static let periodShift = 16

    /// The fields of a `history.changed` mask, in `PresenceField` order.
    static func fields(_ mask: Int64) -> [PresenceField] {
        PresenceField.allCases.enumerated().compactMap { mask & (1 << Int64($0.offset)) != 0 ? $0.element : nil }
    }

    /// A `sequenceNumber` of exactly 16 upper-case hex digits (the form seen so far) as the integer it spells,
    /// 8 bytes instead of 17; anything else is stored as the text Graph sent. `sequenceText` reverses it.
    static func sequenceValue(_ text: String?) -> Value {
        guard let text else { return .null }
        let bytes = text.utf8
        guard bytes.count == 16, let first = bytes.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "7")
        else { return .text(text) }
        var value: Int64 = 0
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = value << 4 | Int64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = value << 4 | Int64(byte - UInt8(ascii: "A") + 10)
            default: return .text(text)
            }
        }
        return .integer(value)
    }

    /// A stored sequence number back as the text Graph sent (see `sequenceValue`).
    static func sequenceText(_ value: Value) -> String? {
        switch value {
        case .integer(let number):
            let digits = String(number, radix: 16, uppercase: true)
            return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
        case .text(let text): return text
        default: return nil
        }
    }

    // MARK: SQL expressions shared by the views, the migration and the store's reads

    /// Integer milliseconds as the ISO-8601 text `Timestamp.iso8601` writes (`2026-11-29T08:15:02.123Z`).
    static func iso(_ milliseconds: String) -> String {
        "(strftime('%Y-%m-%dT%H:%M:%S', \(milliseconds) / 1000, 'unixepoch') || printf('.%03dZ', \(milliseconds) % 1000))"
    }

    /// ISO-8601 text (with or without milliseconds) as integer milliseconds; for the migration of text columns.
    static func milliseconds(_ text: String) -> String {
        """
        (CASE WHEN \(text) IS NULL THEN NULL
              WHEN length(\(text)) = 24 AND substr(\(text), 20, 1) = '.'
              THEN CAST(strftime('%s', substr(\(text), 1, 19)) AS INTEGER) * 1000 + CAST(substr(\(text), 21, 3) AS INTEGER)
              ELSE CAST(round((julianday(\(text)) - 2440587.5) * 86400000) AS INTEGER) END)
        """
    }

    static func word(_ code: String) -> String { "(SELECT word FROM words WHERE code = \(code))" }
    static func message(_ code: String) -> String { "(SELECT text FROM messages WHERE code = \(code))" }
    static func sequence(_ column: String) -> String {
        "(CASE typeof(\(column)) WHEN 'integer' THEN printf('%016X', \(column)) ELSE \(column) END)"
    }

    /// The `changed` mask as the comma-separated field names the old `changed_fields` column held.
    static func changedFields(_ mask: String) -> String {
        let parts = PresenceField.allCases.enumerated().map { index, field in
            "iif(\(mask) & \(1 << index), ',\(field.rawValue)', '')"
        }
        return "substr(\(parts.joined(separator: " || ")), 2)"
    }

    /// The state columns of a history (or current) row aliased `alias`, as text, named with `prefix`.
    static func stateColumns(_ alias: String, prefix: String = "") -> String {
        """
        \(word("\(alias).availability")) AS \(prefix)availability, \(word("\(alias).activity")) AS \(prefix)activity,
        \(message("\(alias).status_message")) AS \(prefix)status_message, \(alias).out_of_office AS \(prefix)out_of_office,
        \(message("\(alias).out_of_office_message")) AS \(prefix)out_of_office_message,
        \(word("\(alias).work_location")) AS \(prefix)work_location
        """
    }

    /// The columns of an event (the old `outbox` table's), from history row `h`, its user `k` and previous row `p`.
    static let eventColumns = """
        h.id AS history_id, k.user_id AS user_id, \(stateColumns("p", prefix: "previous_")),
        \(iso("p.valid_from")) AS previous_since, \(stateColumns("h")), \(sequence("h.sequence_number")) AS sequence_number,
        \(changedFields("h.changed")) AS changed_fields, \(iso("h.valid_from")) AS since
        """

    /// Events in history-id order: `FROM` clause joined as `eventColumns` expects.
    static let eventSource = """
        history AS h JOIN user_keys AS k ON k.key = h.user LEFT JOIN history AS p ON p.id = h.previous
        """

    // MARK: Migration 9

    /// The state columns `history` and `current` share: codes in `words` (availability, activity, work location)
    /// and `messages` (status and out-of-office messages), 0/1, and the sequence number (`sequenceValue`).
    private static let stateColumnDefinitions = """
        availability INTEGER NOT NULL, activity INTEGER NOT NULL, status_message INTEGER,
                        out_of_office INTEGER NOT NULL, out_of_office_message INTEGER, work_location INTEGER,
                        sequence_number
        """

    /// Creates the compact tables, moves every row of the text tables into them (history ids, event cursors and
    /// dead letters keep their ids, so event ids consumers hold stay valid) and puts views with the old names and
    /// columns in their place. One transaction (the migrator's): a kill -9 halfway leaves schema 8 untouched, and
    /// the next start migrates again from the beginning.
    static func migrateToCompactRows(_ db: Connection) throws {
        try db.execute(
            """
            CREATE TABLE user_keys (
                key     INTEGER PRIMARY KEY,
                user_id TEXT    NOT NULL UNIQUE
            );
            CREATE TABLE words (
                code INTEGER PRIMARY KEY,
                word TEXT    NOT NULL UNIQUE
            );
            CREATE TABLE messages (
                code INTEGER PRIMARY KEY,
                text TEXT    NOT NULL UNIQUE
            );
            CREATE TABLE history (
                id                    INTEGER PRIMARY KEY,
                user                  INTEGER NOT NULL,
                \(stateColumnDefinitions),
                changed               INTEGER NOT NULL, -- bit mask, bit n = PresenceField.allCases[n]
                valid_from            INTEGER NOT NULL, -- Unix milliseconds
                valid_to              INTEGER NOT NULL, -- Unix milliseconds, openValidTo while open
                previous              INTEGER           -- the user's previous history row (an event's previous state)
            );
            CREATE TABLE current (
                user                  INTEGER PRIMARY KEY,
                history_id            INTEGER NOT NULL,
                \(stateColumnDefinitions),
                since                 INTEGER NOT NULL,
                written               INTEGER NOT NULL -- when the row was written (schema 8's last_seen column)
            );
            CREATE TABLE unobserved (
                user      INTEGER PRIMARY KEY,
                last_seen INTEGER NOT NULL
            );

            INSERT INTO user_keys (user_id)
            SELECT user_id FROM presence_history UNION SELECT user_id FROM presence_state
            UNION SELECT user_id FROM outbox UNION SELECT user_id FROM users
            UNION SELECT user_id FROM presence_unobserved ORDER BY 1;

            INSERT INTO words (word)
            SELECT availability FROM presence_history UNION SELECT activity FROM presence_history
            UNION SELECT work_location FROM presence_history WHERE work_location IS NOT NULL
            UNION SELECT availability FROM presence_state UNION SELECT activity FROM presence_state
            UNION SELECT work_location FROM presence_state WHERE work_location IS NOT NULL
            ORDER BY 1;

            INSERT INTO messages (text)
            SELECT status_message FROM presence_history WHERE status_message IS NOT NULL
            UNION SELECT out_of_office_message FROM presence_history WHERE out_of_office_message IS NOT NULL
            UNION SELECT status_message FROM presence_state WHERE status_message IS NOT NULL
            UNION SELECT out_of_office_message FROM presence_state WHERE out_of_office_message IS NOT NULL
            ORDER BY 1;

            INSERT INTO history (id, user, availability, activity, status_message, out_of_office,
                out_of_office_message, work_location, sequence_number, changed, valid_from, valid_to, previous)
            SELECT o.id, k.key,
                   \(codeLookups("o")),
                   o.sequence_number, \(changedMask("o.changed_fields")),
                   \(milliseconds("o.valid_from")),
                   coalesce(\(milliseconds("o.valid_to")), \(openValidTo)),
                   lag(o.id) OVER (PARTITION BY o.user_id ORDER BY o.valid_from, o.id)
            FROM presence_history AS o JOIN user_keys AS k ON k.user_id = o.user_id
            ORDER BY o.id;

            INSERT INTO current (user, history_id, availability, activity, status_message, out_of_office,
                out_of_office_message, work_location, sequence_number, since, written)
            SELECT k.key, s.history_id,
                   \(codeLookups("s")),
                   s.sequence_number, \(milliseconds("s.since")), \(milliseconds("s.last_seen"))
            FROM presence_state AS s JOIN user_keys AS k ON k.user_id = s.user_id
            ORDER BY k.key;

            INSERT INTO unobserved (user, last_seen)
            SELECT k.key, \(milliseconds("u.last_seen"))
            FROM presence_unobserved AS u JOIN user_keys AS k ON k.user_id = u.user_id ORDER BY k.key;

            -- Events that the history can no longer rebuild, because retention had already deleted their history
            -- row or the previous row they carry (the old outbox copied every event): kept as they were, and
            -- delivered from here (in place of the history's version) until every sink has them.
            CREATE TABLE outbox_legacy AS
            SELECT o.* FROM outbox AS o LEFT JOIN history AS h ON h.id = o.history_id
            WHERE h.id IS NULL OR (o.previous_availability IS NOT NULL AND h.previous IS NULL);
            CREATE UNIQUE INDEX outbox_legacy_by_id ON outbox_legacy (history_id);

            DROP VIEW presence_current;
            DROP TABLE presence_state;
            DROP TABLE presence_unobserved;
            DROP TABLE outbox;
            DROP TABLE presence_history;

            CREATE INDEX history_by_user ON history ((id >> \(periodShift)), user);
            """)
        try createViews(db)
        try pinStatistics(db)
    }

    /// The six state codes of the text state columns of row `alias`, looked up in `words` and `messages`, in
    /// `StateCodes` order; for the migration.
    private static func codeLookups(_ alias: String) -> String {
        """
        (SELECT code FROM words WHERE word = \(alias).availability),
                           (SELECT code FROM words WHERE word = \(alias).activity),
                           (SELECT code FROM messages WHERE text = \(alias).status_message), \(alias).out_of_office,
                           (SELECT code FROM messages WHERE text = \(alias).out_of_office_message),
                           (SELECT code FROM words WHERE word = \(alias).work_location)
        """
    }

    /// `changed_fields` text ('availability,activity') as a `changed` mask; for the migration.
    private static func changedMask(_ text: String) -> String {
        PresenceField.allCases.enumerated().map { index, field in
            "(instr(',' || \(text) || ',', ',\(field.rawValue),') > 0) * \(1 << index)"
        }.joined(separator: " + ")
    }

    /// The documented views: the old tables' names, columns and meanings over the compact tables.
    ///
    /// `presence_current` joins with CROSS JOIN, which makes SQLite scan `current` and look each key up, rather
    /// than walk a list of ids (such as the README's "tracked users only" filter) through `user_keys`' text index:
    /// 120-150 ms instead of 170-270 ms for "who is in a meeting" at 100,000 users.
    static func createViews(_ db: Connection) throws {
        let lastSweep = "(SELECT started_at FROM poll_cycles WHERE sweep = 1 ORDER BY id DESC LIMIT 1)"
        try db.execute(
            """
            CREATE VIEW presence_history AS
            SELECT h.id AS id, k.user_id AS user_id, \(stateColumns("h")),
                   \(sequence("h.sequence_number")) AS sequence_number, \(changedFields("h.changed")) AS changed_fields,
                   \(iso("h.valid_from")) AS valid_from,
                   iif(h.valid_to = \(openValidTo), NULL, \(iso("h.valid_to"))) AS valid_to
            FROM history AS h JOIN user_keys AS k ON k.key = h.user;

            CREATE VIEW presence_unobserved AS
            SELECT k.user_id AS user_id, \(iso("u.last_seen")) AS last_seen
            FROM unobserved AS u JOIN user_keys AS k ON k.key = u.user;

            CREATE VIEW presence_current AS
            SELECT k.user_id AS user_id, c.history_id AS history_id, \(stateColumns("c")),
                   \(sequence("c.sequence_number")) AS sequence_number, \(iso("c.since")) AS since,
                   coalesce(\(iso("u.last_seen")), max(\(iso("c.written")), coalesce(\(lastSweep), ''))) AS last_seen
            FROM current AS c CROSS JOIN user_keys AS k ON k.key = c.user LEFT JOIN unobserved AS u ON u.user = c.user;

            CREATE VIEW outbox AS
            SELECT \(eventColumns) FROM \(eventSource)
            WHERE NOT EXISTS (SELECT 1 FROM outbox_legacy AS l WHERE l.history_id = h.id)
            UNION ALL
            SELECT history_id, user_id, previous_availability, previous_activity, previous_status_message,
                   previous_out_of_office, previous_out_of_office_message, previous_work_location, previous_since,
                   availability, activity, status_message, out_of_office, out_of_office_message, work_location,
                   sequence_number, changed_fields, since
            FROM outbox_legacy;
            """)
    }

    /// Tells the planner that `history_by_user` has few distinct periods with many rows each, so that a lookup by
    /// user alone walks the periods with a skip-scan instead of scanning the table. Fixed figures rather than
    /// `ANALYZE`, so that the plan is the same on an empty file, a small one and a grown one; `ANALYZE` on a
    /// grown file writes figures of the same shape.
    static func pinStatistics(_ db: Connection) throws {
        try db.execute(
            """
            ANALYZE sqlite_schema;
            DELETE FROM sqlite_stat1 WHERE tbl = 'history';
            INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('history', 'history_by_user', '10000000 65536 4');
            ANALYZE sqlite_schema;
            """)
    }
}
