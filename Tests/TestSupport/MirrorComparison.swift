import SQLite

/// The history and current state of a SQLite store and of its PostgreSQL mirror, as comparable lines.
///
/// Both sides are printed the same way (`|` between columns, `NULL` for null, times as ISO-8601 UTC with
/// milliseconds, out of office as 0/1), so a mirror that holds the history row for row gives equal arrays.
public enum MirrorComparison {
    /// Every `presence_history` row of the SQLite file, by id.
    public static func sqliteHistory(_ path: String) throws -> [String] {
        try lines(
            path,
            """
            SELECT id, user_id, availability, activity, status_message, out_of_office, out_of_office_message,
                   work_location, sequence_number, changed_fields, valid_from, valid_to
            FROM presence_history ORDER BY id
            """)
    }

    /// Every `presence_current` row of the SQLite file (without `last_seen`, which the mirror does not keep).
    public static func sqliteCurrent(_ path: String) throws -> [String] {
        try lines(
            path,
            """
            SELECT user_id, history_id, availability, activity, status_message, out_of_office,
                   out_of_office_message, work_location, sequence_number, since
            FROM presence_current ORDER BY user_id
            """)
    }

    /// The mirror's history rows of `tenant`, by id.
    public static func postgresHistory(
        _ server: PostgresServer, database: String, schema: String = "presence_sync", tenant: String
    ) throws -> [String] {
        try server.psql(
            """
            SELECT id, user_id, availability, activity, status_message, out_of_office::int, out_of_office_message,
                   work_location, sequence_number, changed_fields, \(iso("valid_from")), \(iso("valid_to"))
            FROM \(schema).history WHERE tenant_id = '\(tenant)' ORDER BY id
            """, database: database)
    }

    /// The mirror's current rows of `tenant`.
    public static func postgresCurrent(
        _ server: PostgresServer, database: String, schema: String = "presence_sync", tenant: String
    ) throws -> [String] {
        try server.psql(
            """
            SELECT user_id, history_id, availability, activity, status_message, out_of_office::int,
                   out_of_office_message, work_location, sequence_number, \(iso("since"))
            FROM \(schema).current WHERE tenant_id = '\(tenant)' ORDER BY user_id COLLATE "C"
            """, database: database)
    }

    /// The first line where `mirror` and `sqlite` differ, for a failing test's message.
    public static func difference(_ mirror: [String], _ sqlite: [String]) -> String {
        for index in 0..<max(mirror.count, sqlite.count) {
            let left = index < mirror.count ? mirror[index] : "(none)"
            let right = index < sqlite.count ? sqlite[index] : "(none)"
            if left != right {
                return "line \(index) of \(mirror.count)/\(sqlite.count): mirror \(left) | sqlite \(right)"
            }
        }
        return "no difference"
    }

    private static func iso(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    }

    private static func lines(_ path: String, _ sql: String) throws -> [String] {
        let connection = try Connection(path: path, mode: .readOnly)
        var lines: [String] = []
        try connection.prepare(sql).query { row in
            lines.append((0..<row.count).map { row.isNull($0) ? "NULL" : row.text($0) ?? "" }.joined(separator: "|"))
        }
        return lines
    }
}
