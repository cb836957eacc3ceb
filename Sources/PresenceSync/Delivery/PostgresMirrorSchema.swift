import Logging
import PostgresNIO

/// The mirror's tables in the target database, created and migrated by the daemon in a schema of its own.
///
/// Three tables, every row keyed by the tenant, so that several daemons (one per tenant) can mirror into one
/// database and one query spans them: `users`, `history` (the SQLite view `presence_history`'s columns and
/// meaning, times as `timestamptz`, one row per state with `valid_from`/`valid_to`) and `current` (one row per
/// user). History rows are also keyed by `store_instance`, the SQLite file's random instance id (the first part of
/// every event id): history ids are unique only within one file, and a tenant whose file was replaced starts again
/// at id 1 without clashing with the rows already mirrored.
///
/// `mirror_info` marks the schema as the daemon's (`owner`) and records its layout version, so that the daemon
/// never writes into a schema that something else created, nor into one a newer version laid out.
struct PostgresMirrorSchema: Sendable {
    /// The layout this version writes.
    static let version = 1
    /// What `mirror_info.owner` holds in a schema of ours.
    static let owner = "presence-sync"

    /// The schema name, checked at config load (lower-case letters, digits, '_'), so it is safe to quote.
    let name: String

    /// A name inside the schema, quoted.
    func table(_ table: String) -> String { "\"\(name)\".\(table)" }

    /// A schema or table that is not the daemon's, or a layout from a newer version: the mirror cannot write.
    struct Mismatch: Error, CustomStringConvertible {
        let description: String
    }

    /// Creates the schema and tables when absent, migrates an older layout, and refuses a schema that is not ours.
    ///
    /// One transaction under an advisory lock, so two daemons starting together against one database do not race
    /// to create the same tables.
    func prepare(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.mirrorTransaction(logger: logger) { connection in
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtext(\("presence-sync schema " + name)))", logger: logger)
            let tables = try await tableNames(connection, logger: logger)
            if tables.isEmpty {
                try await create(connection, logger: logger)
                return
            }
            guard tables.contains("mirror_info") else {
                throw Mismatch(
                    description:
                        "schema \(name) already holds tables (\(tables.sorted().prefix(5).joined(separator: ", "))) "
                        + "but no mirror_info: it is not presence-sync's; choose another 'schema'")
            }
            var info: [String: String] = [:]
            let rows = try await connection.query(
                "SELECT key, value FROM \(unescaped: table("mirror_info"))", logger: logger)
            for try await (key, value) in rows.decode((String, String).self) { info[key] = value }
            guard info["owner"] == Self.owner else {
                throw Mismatch(
                    description:
                        "schema \(name) has a mirror_info table whose owner is \(info["owner"].map { "'\($0)'" } ?? "not set"), "
                        + "not '\(Self.owner)': it is not presence-sync's; choose another 'schema'")
            }
            let found = info["schema_version"].flatMap(Int.init) ?? 0
            guard found <= Self.version else {
                throw Mismatch(
                    description:
                        "schema \(name) has layout version \(found), written by a newer presence-sync (this one "
                        + "writes \(Self.version)); upgrade this daemon")
            }
            let missing = Set(["users", "history", "current"]).subtracting(tables)
            guard missing.isEmpty else {
                throw Mismatch(
                    description:
                        "schema \(name) is presence-sync's but misses \(missing.sorted().joined(separator: ", ")); "
                        + "restore it or drop the schema so the daemon creates it again")
            }
        }
    }

    /// The tables, views and sequences in the schema, whoever owns them (read from `pg_class`, which unlike
    /// `information_schema` also lists what this user may not read); empty when the schema does not exist.
    private func tableNames(_ connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        let rows = try await connection.query(
            """
            SELECT c.relname::text FROM pg_catalog.pg_class AS c
            JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
            WHERE n.nspname = \(name) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
            """, logger: logger)
        var names = Set<String>()
        for try await (table) in rows.decode(String.self) { names.insert(table) }
        return names
    }

    /// The state columns `history` and `current` share (those of the SQLite views).
    private static let stateColumns = """
        availability          text        NOT NULL,
                        activity              text        NOT NULL,
                        status_message        text,
                        out_of_office         boolean     NOT NULL,
                        out_of_office_message text,
                        work_location         text,
                        sequence_number       text
        """

    private func create(_ connection: PostgresConnection, logger: Logger) async throws {
        let statements = [
            "CREATE SCHEMA IF NOT EXISTS \"\(name)\"",
            """
            CREATE TABLE \(table("mirror_info")) (
                key   text PRIMARY KEY,
                value text NOT NULL
            )
            """,
            """
            INSERT INTO \(table("mirror_info")) (key, value)
            VALUES ('owner', '\(Self.owner)'), ('schema_version', '\(Self.version)')
            """,
            """
            CREATE TABLE \(table("users")) (
                tenant_id  text        NOT NULL,
                user_id    text        NOT NULL,
                first_seen timestamptz NOT NULL,
                PRIMARY KEY (tenant_id, user_id)
            )
            """,
            """
            CREATE TABLE \(table("history")) (
                tenant_id             text        NOT NULL,
                store_instance        text        NOT NULL,
                id                    bigint      NOT NULL,
                user_id               text        NOT NULL,
                \(Self.stateColumns),
                changed_fields        text        NOT NULL,
                valid_from            timestamptz NOT NULL,
                valid_to              timestamptz,
                PRIMARY KEY (tenant_id, store_instance, id),
                CHECK (valid_to IS NULL OR valid_to >= valid_from)
            )
            """,
            "CREATE INDEX history_by_user ON \(table("history")) (tenant_id, user_id, valid_from)",
            """
            CREATE TABLE \(table("current")) (
                tenant_id             text        NOT NULL,
                user_id               text        NOT NULL,
                store_instance        text        NOT NULL,
                history_id            bigint      NOT NULL,
                \(Self.stateColumns),
                since                 timestamptz NOT NULL,
                PRIMARY KEY (tenant_id, user_id)
            )
            """,
            "CREATE INDEX current_by_availability ON \(table("current")) (availability)",
        ]
        for statement in statements {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        logger.notice("created the PostgreSQL mirror's tables", metadata: ["schema": "\(name)"])
    }
}
