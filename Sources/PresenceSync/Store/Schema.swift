import SQLite

/// The database layout, as numbered migrations applied in order on start (PRAGMA user_version records the last).
///
/// Operators query the tables and views directly (README, "Querying the database"), so names are plain and
/// stable; timestamps they see are ISO-8601 UTC text with milliseconds so that SQLite's date functions work on
/// them. Since migration 9 the history and current state are compact tables (`StoreLayout`) behind views that
/// keep the names and columns of migrations 1-8.
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
        },
        Migration(version: 2, name: "event outbox and per-sink cursors") { db in
            try db.execute(
                """
                -- One row per change event, inserted in the transaction that appends its history row, so an event
                -- is never lost between commit and delivery. Self-contained (previous and current state) so that
                -- history retention never breaks a pending event. Sinks read it in history_id order.
                CREATE TABLE outbox (
                    history_id                     INTEGER PRIMARY KEY,
                    user_id                        TEXT    NOT NULL,
                    previous_availability          TEXT,
                    previous_activity              TEXT,
                    previous_status_message        TEXT,
                    previous_out_of_office         INTEGER,
                    previous_out_of_office_message TEXT,
                    previous_work_location         TEXT,
                    previous_since                 TEXT,
                    availability                   TEXT    NOT NULL,
                    activity                       TEXT    NOT NULL,
                    status_message                 TEXT,
                    out_of_office                  INTEGER NOT NULL,
                    out_of_office_message          TEXT,
                    work_location                  TEXT,
                    sequence_number                TEXT,
                    changed_fields                 TEXT    NOT NULL,
                    since                          TEXT    NOT NULL
                );

                -- How far each sink (stdout, each webhook endpoint) has delivered: every outbox row with
                -- history_id <= delivered_through has left through that sink.
                CREATE TABLE outbox_cursors (
                    sink              TEXT    PRIMARY KEY,
                    delivered_through INTEGER NOT NULL,
                    updated_at        TEXT    NOT NULL
                ) WITHOUT ROWID;
                """)
        },
        Migration(version: 3, name: "webhook dead letters and endpoint state") { db in
            try db.execute(
                """
                -- Events a webhook endpoint gave up on (retry window over, or a permanent 4xx), with the last error.
                -- Their outbox rows are kept while they are listed here.
                CREATE TABLE webhook_dead_letters (
                    endpoint   TEXT    NOT NULL,
                    history_id INTEGER NOT NULL,
                    user_id    TEXT    NOT NULL,
                    attempts   INTEGER NOT NULL,
                    last_error TEXT    NOT NULL,
                    failed_at  TEXT    NOT NULL,
                    PRIMARY KEY (endpoint, history_id)
                ) WITHOUT ROWID;

                -- Endpoints the receiver disabled with 410 Gone; nothing is sent to them until the row is removed.
                CREATE TABLE webhook_endpoints_disabled (
                    endpoint    TEXT PRIMARY KEY,
                    reason      TEXT NOT NULL,
                    disabled_at TEXT NOT NULL
                ) WITHOUT ROWID;
                """)
        },
        Migration(version: 4, name: "requeued webhook dead letters") { db in
            try db.execute(
                """
                -- Dead letters an operator requeued (`outbox retry`): the endpoint sends them again, then deletes
                -- the row (or lists the event as a dead letter again).
                CREATE TABLE webhook_requeued (
                    endpoint   TEXT    NOT NULL,
                    history_id INTEGER NOT NULL,
                    PRIMARY KEY (endpoint, history_id)
                ) WITHOUT ROWID;
                """)
        },
        Migration(version: 5, name: "tracked users and where they come from") { db in
            try db.execute(
                """
                -- One row per tracking period of a user through one source: 'id' (listed by object id), 'upn:<upn>'
                -- (listed by user principal name, lower-cased) or 'group:<group id>' (a transitive member). A user
                -- is tracked while any of its rows is open (tracking_stopped NULL); a user who leaves a source gets
                -- tracking_stopped set, and one who comes back gets a new row. History is never deleted with it.
                CREATE TABLE users (
                    id                  INTEGER PRIMARY KEY,
                    user_id             TEXT    NOT NULL,
                    source              TEXT    NOT NULL,
                    user_principal_name TEXT,
                    tracking_started    TEXT    NOT NULL,
                    tracking_stopped    TEXT,
                    CHECK (tracking_stopped IS NULL OR tracking_stopped >= tracking_started)
                );
                CREATE UNIQUE INDEX users_one_open_period ON users (user_id, source) WHERE tracking_stopped IS NULL;
                CREATE INDEX users_by_user ON users (user_id, tracking_started);
                """)
        },
        Migration(version: 6, name: "no index on the current availability") { db in
            // Every availability change moved the user's entry in this index: two more random pages written per
            // change, for a query ("who is in a meeting now") that a scan of presence_current answers in
            // milliseconds even at 100,000 users.
            try db.execute("DROP INDEX IF EXISTS presence_current_by_availability")
        },
        Migration(version: 7, name: "open tracking periods by source") { db in
            // Same uniqueness (one open period per user and source), columns swapped: a resolution compares each
            // source's members with that source's open rows read in user_id order, which this index gives directly
            // (the old one made it walk every open row once per source).
            try db.execute(
                """
                CREATE UNIQUE INDEX users_open_by_source ON users (source, user_id) WHERE tracking_stopped IS NULL;
                DROP INDEX users_one_open_period;
                """)
        },
        Migration(version: 8, name: "last_seen derived from sweeps, not rewritten per user") { db in
            // Keeping last_seen fresh rewrote every user's row every few minutes: most of the writes of a tenant
            // where little changes. The table keeps its rows (renamed; its last_seen column now says when the row
            // was written) and `presence_current` becomes a view with the same columns, whose last_seen is the
            // start of the last sweep (a cycle that tried every batch) unless the user stopped being observed:
            // then the time is frozen in presence_unobserved until the user is observed again.
            try db.execute(
                """
                ALTER TABLE presence_current RENAME TO presence_state;

                -- Users not observed since last_seen: missing from Graph's answers, in a batch that failed, or no
                -- longer tracked. A row is added when that starts and removed when the user is observed again.
                CREATE TABLE presence_unobserved (
                    user_id   TEXT PRIMARY KEY,
                    last_seen TEXT NOT NULL
                ) WITHOUT ROWID;

                -- 1 when the cycle tried every batch (0: cut short by a shutdown). Earlier cycles count as sweeps.
                ALTER TABLE poll_cycles ADD COLUMN sweep INTEGER NOT NULL DEFAULT 1;

                -- Users no longer tracked keep the last_seen they had.
                INSERT INTO presence_unobserved (user_id, last_seen)
                SELECT user_id, last_seen FROM presence_state
                WHERE EXISTS (SELECT 1 FROM users)
                  AND user_id NOT IN (SELECT user_id FROM users WHERE tracking_stopped IS NULL);

                CREATE VIEW presence_current AS
                SELECT s.user_id, s.history_id, s.availability, s.activity, s.status_message, s.out_of_office,
                       s.out_of_office_message, s.work_location, s.sequence_number, s.since,
                       coalesce(u.last_seen, max(s.last_seen, coalesce(
                           (SELECT started_at FROM poll_cycles WHERE sweep = 1 ORDER BY id DESC LIMIT 1), ''))
                       ) AS last_seen
                FROM presence_state AS s LEFT JOIN presence_unobserved AS u ON u.user_id = s.user_id;
                """)
        },
        Migration(version: 9, name: "compact rows; the history is the event log") { db in
            // Integer keys, codes and times instead of text in every row, a per-user history index that leads with
            // a period so that inserts stay in a few pages, and no second copy of each event: see StoreLayout.
            try StoreLayout.migrateToCompactRows(db)
        },
        Migration(version: 10, name: "tracked users by id; presence_current scans current first") { db in
            // "Only users tracked now" (`user_id IN (SELECT user_id FROM users WHERE tracking_stopped IS NULL)`)
            // read every open period and sorted their ids into a temporary table; this index is that list.
            try db.execute(
                """
                CREATE INDEX users_tracked ON users (user_id) WHERE tracking_stopped IS NULL;
                DROP VIEW presence_current;
                DROP VIEW presence_history;
                DROP VIEW presence_unobserved;
                DROP VIEW outbox;
                """)
            try StoreLayout.createViews(db)
        },
        Migration(version: 11, name: "poll_cycles: requests, budget use and staleness") { db in
            // Adaptive polling has no interval: `status` reports a sweep's request rate, its share of the app's
            // budget and how long the least recently observed user had waited when it ended. NULL for rows from
            // before, and for fixed cycles where a figure does not apply.
            try db.execute(
                """
                ALTER TABLE poll_cycles ADD COLUMN requests INTEGER;
                ALTER TABLE poll_cycles ADD COLUMN budget_use REAL;
                ALTER TABLE poll_cycles ADD COLUMN stalest_seconds REAL;
                """)
        },
        Migration(version: 12, name: "snapshots and replays of a sink (outbox_backfills)") { db in
            // A sink's snapshot (`startFrom: "snapshot"`) or replay (`presence-sync replay`) in progress, with how
            // far it got, so that a restart resumes it instead of starting over or losing it. One per sink; the
            // row is deleted when the last page was delivered. Additive: older versions ignore the table.
            try db.execute(
                """
                CREATE TABLE outbox_backfills (
                    sink         TEXT    PRIMARY KEY,
                    kind         TEXT    NOT NULL CHECK (kind IN ('snapshot', 'replay')),
                    requested_at INTEGER NOT NULL, -- Unix milliseconds; tells one replay's webhook ids from another's
                    first_id     INTEGER NOT NULL, -- replay: re-send history ids after this one; snapshot: 0
                    through_id   INTEGER NOT NULL, -- snapshot: the as-of history id; replay: the last id to re-send
                    position     INTEGER NOT NULL, -- snapshot: the last user key sent; replay: the last id sent
                    total        INTEGER NOT NULL, -- users (snapshot) or history rows (replay) to send, for status
                    since        TEXT              -- replay: the time asked for
                ) WITHOUT ROWID;
                """)
        },
    ]
}
