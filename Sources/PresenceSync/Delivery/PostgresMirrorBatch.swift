import Logging
import PostgresNIO

/// Writes one page of changes into the mirror's tables, in one transaction, idempotently.
///
/// The page goes to the server as one JSON array (one bind, whatever its size), lands in a temporary table and is
/// spread from there with set-based statements: history rows are inserted unless present (a retry or a restart
/// re-sends from the cursor), closed already when SQLite had closed them by the time they were read (a backlog: one
/// write per row instead of two), each new row closes the row it replaced if that is still open (by the previous
/// row's history id, so a user's several changes in one page chain correctly), users are added once, and `current` moves forward only
/// (never back to an older row when a page is sent again).
struct PostgresMirrorBatch: Sendable {
    let schema: PostgresMirrorSchema
    let tenantID: String
    let storeInstance: String

    /// Creates the per-connection staging table (emptied by every commit).
    func prepare(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            CREATE TEMPORARY TABLE IF NOT EXISTS mirror_batch (
                id bigint NOT NULL, previous_id bigint, has_previous boolean NOT NULL, user_id text NOT NULL,
                availability text NOT NULL, activity text NOT NULL, status_message text, out_of_office boolean NOT NULL,
                out_of_office_message text, work_location text, sequence_number text, changed_fields text NOT NULL,
                valid_from timestamptz NOT NULL, valid_to timestamptz
            ) ON COMMIT DELETE ROWS
            """, logger: logger)
    }

    /// Writes `records` (history order) in one transaction.
    func write(_ records: [ChangeRecord], _ connection: PostgresConnection, logger: Logger) async throws {
        let rows = Self.json(records)
        let legacy = records.contains { $0.previous != nil && $0.previousHistoryID == nil }
        let tenant = tenantID
        let instance = storeInstance
        let history = schema.table("history")
        let users = schema.table("users")
        let current = schema.table("current")
        let stateColumns =
            "availability, activity, status_message, out_of_office, out_of_office_message, work_location, sequence_number"
        try await connection.mirrorTransaction(logger: logger) { connection in
            try await connection.query(
                """
                INSERT INTO pg_temp.mirror_batch
                SELECT id, previous_id, has_previous, user_id, availability, activity, status_message, out_of_office,
                       out_of_office_message, work_location, sequence_number, changed_fields,
                       timestamptz 'epoch' + valid_from * interval '1 millisecond',
                       timestamptz 'epoch' + valid_to * interval '1 millisecond'
                FROM jsonb_to_recordset(\(rows)::jsonb) AS r(
                    id bigint, previous_id bigint, has_previous boolean, user_id text, availability text, activity text,
                    status_message text, out_of_office boolean, out_of_office_message text, work_location text,
                    sequence_number text, changed_fields text, valid_from bigint, valid_to bigint)
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO \(unescaped: history) (tenant_id, store_instance, id, user_id, \(unescaped: stateColumns),
                    changed_fields, valid_from, valid_to)
                SELECT \(tenant), \(instance), id, user_id, \(unescaped: stateColumns), changed_fields, valid_from, valid_to
                FROM pg_temp.mirror_batch ORDER BY id
                ON CONFLICT DO NOTHING
                """, logger: logger)
            try await connection.query(
                """
                UPDATE \(unescaped: history) AS h SET valid_to = b.valid_from
                FROM pg_temp.mirror_batch AS b
                WHERE h.tenant_id = \(tenant) AND h.store_instance = \(instance) AND h.id = b.previous_id
                    AND h.valid_to IS NULL
                """, logger: logger)
            if legacy {
                // Events a migration from schema 8 kept without their history rows carry no previous id: close the
                // user's open row older than the change instead.
                try await connection.query(
                    """
                    UPDATE \(unescaped: history) AS h SET valid_to = b.valid_from
                    FROM pg_temp.mirror_batch AS b
                    WHERE b.previous_id IS NULL AND b.has_previous AND h.tenant_id = \(tenant)
                        AND h.store_instance = \(instance) AND h.user_id = b.user_id AND h.valid_to IS NULL
                        AND h.id < b.id
                    """, logger: logger)
            }
            try await connection.query(
                """
                INSERT INTO \(unescaped: users) (tenant_id, user_id, first_seen)
                SELECT \(tenant), user_id, min(valid_from) FROM pg_temp.mirror_batch GROUP BY user_id ORDER BY user_id
                ON CONFLICT DO NOTHING
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO \(unescaped: current) AS c (tenant_id, user_id, store_instance, history_id,
                    \(unescaped: stateColumns), since)
                SELECT DISTINCT ON (user_id) \(tenant), user_id, \(instance), id, \(unescaped: stateColumns), valid_from
                FROM pg_temp.mirror_batch ORDER BY user_id, id DESC
                ON CONFLICT (tenant_id, user_id) DO UPDATE SET store_instance = excluded.store_instance,
                    history_id = excluded.history_id, availability = excluded.availability,
                    activity = excluded.activity, status_message = excluded.status_message,
                    out_of_office = excluded.out_of_office, out_of_office_message = excluded.out_of_office_message,
                    work_location = excluded.work_location, sequence_number = excluded.sequence_number,
                    since = excluded.since
                WHERE CASE WHEN c.store_instance = excluded.store_instance THEN c.history_id < excluded.history_id
                           ELSE c.since <= excluded.since END
                """, logger: logger)
        }
    }

    /// The page as the JSON array `jsonb_to_recordset` reads: one object per change, times in milliseconds.
    static func json(_ records: [ChangeRecord]) -> String {
        var writer = JSONWriter(capacity: records.count * 320)
        writer.beginArray()
        for record in records {
            let state = record.current
            writer.beginObject()
            writer.key("id")
            writer.integer(record.historyID)
            writer.key("previous_id")
            if let previous = record.previousHistoryID { writer.integer(previous) } else { writer.null() }
            writer.field("has_previous", record.previous != nil)
            writer.field("user_id", text(record.userID))
            writer.field("availability", text(state.availability))
            writer.field("activity", text(state.activity))
            writer.field("status_message", state.statusMessage.map(text))
            writer.field("out_of_office", state.isOutOfOffice)
            writer.field("out_of_office_message", state.outOfOfficeMessage.map(text))
            writer.field("work_location", state.workLocationType.map(text))
            writer.field("sequence_number", record.sequenceNumber.map(text))
            writer.field("changed_fields", record.changedFields.map(\.rawValue).joined(separator: ","))
            writer.key("valid_from")
            writer.integer(record.since.millisecondsSinceEpoch)
            writer.key("valid_to")
            if let validTo = record.validTo { writer.integer(validTo.millisecondsSinceEpoch) } else { writer.null() }
            writer.endObject()
        }
        writer.endArray()
        return String(decoding: writer.take(), as: UTF8.self)
    }

    /// PostgreSQL text cannot hold U+0000; a message that carries one keeps the replacement character instead.
    static func text(_ value: String) -> String {
        guard value.utf8.contains(0) else { return value }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: value.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 })
        return String(scalars)
    }
}
