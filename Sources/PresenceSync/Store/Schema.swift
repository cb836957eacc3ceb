import SQLite

/// The database layout, as numbered migrations applied in order on start (PRAGMA user_version records the last).
///
/// Operators query these tables directly (README, "Querying the database"), so names are plain and stable;
/// timestamps are ISO-8601 UTC text with milliseconds so that SQLite's date functions work on them.
enum Schema {
    static let migrations: [Migration] = [
        Migration(version: 1, name: "presence history and current state") { db in
            try db.execute(
                """
                CREATE TABLE store_info (
                    key   TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                ) WITHOUT ROWID;

                -- One row per distinct state per user. Rows are only ever appended; the single update a row gets
                -- is its valid_to, set in the transaction that appends the user's next state.
                CREATE TABLE presence_history (
                    id                    INTEGER PRIMARY KEY,
                    user_id               TEXT    NOT NULL,
                    availability          TEXT    NOT NULL,
                    activity              TEXT    NOT NULL,
                    status_message        TEXT,
                    out_of_office         INTEGER NOT NULL CHECK (out_of_office IN (0, 1)),
                    out_of_office_message TEXT,
                    work_location         TEXT,
                    sequence_number       TEXT,
                    changed_fields        TEXT    NOT NULL,
                    valid_from            TEXT    NOT NULL,
                    valid_to              TEXT,
                    CHECK (valid_to IS NULL OR valid_to >= valid_from)
                );
                CREATE INDEX presence_history_by_user ON presence_history (user_id, valid_from);
                CREATE UNIQUE INDEX presence_history_one_open_row ON presence_history (user_id)
                    WHERE valid_to IS NULL;

                -- One row per user: the state now, since when, and when it was last confirmed by Graph.
                CREATE TABLE presence_current (
                    user_id               TEXT    PRIMARY KEY,
                    history_id            INTEGER NOT NULL REFERENCES presence_history (id),
                    availability          TEXT    NOT NULL,
                    activity              TEXT    NOT NULL,
                    status_message        TEXT,
                    out_of_office         INTEGER NOT NULL,
                    out_of_office_message TEXT,
                    work_location         TEXT,
                    sequence_number       TEXT,
                    since                 TEXT    NOT NULL,
                    last_seen             TEXT    NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX presence_current_by_availability ON presence_current (availability);

                -- One row per poll cycle, for status reports and for spotting gaps in coverage.
                CREATE TABLE poll_cycles (
                    id             INTEGER PRIMARY KEY,
                    started_at     TEXT    NOT NULL,
                    finished_at    TEXT    NOT NULL,
                    users          INTEGER NOT NULL,
                    observed       INTEGER NOT NULL,
                    changes        INTEGER NOT NULL,
                    missing        INTEGER NOT NULL,
                    failed_batches INTEGER NOT NULL,
                    unexpected_ids INTEGER NOT NULL
                );
                """)
        }
    ]
}
