import SQLite

/// The webhook endpoints' durable state: dead letters and endpoints disabled by 410 Gone.
extension PresenceStore {
    /// Lists events an endpoint gave up on, with the last error; they count as done for its cursor.
    public func recordDeadLetters(
        endpoint: String, events: [(historyID: Int64, userID: String)], attempts: Int, error: String
    ) async throws(StoreError) {
        let rows = events.map { [Value.integer($0.historyID), .text($0.userID)] }
        try await withConnection("recording dead letters of \(endpoint)") { db in
            try db.inTransaction(.immediate) {
                let insert = try db.cachedStatement(
                    """
                    INSERT OR REPLACE INTO webhook_dead_letters (endpoint, history_id, user_id, attempts, last_error,
                        failed_at)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                    """)
                let now = Timestamp.now().iso8601
                for row in rows {
                    try insert.execute([
                        .text(endpoint), row[0], row[1], .integer(Int64(attempts)), .text(error), .text(now),
                    ])
                }
            }
        }
    }

    /// Number of dead letters of `endpoint`.
    public func deadLetterCount(endpoint: String) async throws(StoreError) -> Int {
        try await withConnection("counting dead letters of \(endpoint)") { db in
            try db.cachedStatement("SELECT count(*) FROM webhook_dead_letters WHERE endpoint = ?1")
                .queryOne([.text(endpoint)]) { $0.int(0) } ?? 0
        }
    }

    /// Marks an endpoint disabled (the receiver answered 410 Gone); it stays so across restarts.
    public func disableEndpoint(_ endpoint: String, reason: String) async throws(StoreError) {
        try await withConnection("disabling \(endpoint)") { db in
            try db.cachedStatement(
                "INSERT OR REPLACE INTO webhook_endpoints_disabled (endpoint, reason, disabled_at) VALUES (?1, ?2, ?3)"
            ).execute([.text(endpoint), .text(reason), .text(Timestamp.now().iso8601)])
        }
    }

    /// Stores (or clears, with nil) the time before which nothing may be sent to `endpoint`: the receiver's latest
    /// `Retry-After`, kept in `store_info` so that a restart honours it. A later time never shortens an earlier one.
    public func setWebhookNotBefore(endpoint: String, _ time: Timestamp?) async throws(StoreError) {
        try await withConnection("storing the Retry-After of \(endpoint)") { db in
            let key = Value.text("webhook_not_before:\(endpoint)")
            if let time {
                try db.cachedStatement(
                    """
                    INSERT INTO store_info (key, value) VALUES (?1, ?2)
                    ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)
                    """
                ).execute([key, .text(time.iso8601)])
            } else {
                try db.cachedStatement("DELETE FROM store_info WHERE key = ?1").execute([key])
            }
        }
    }

    /// The stored `Retry-After` time of `endpoint`, if any.
    public func webhookNotBefore(endpoint: String) async throws(StoreError) -> Timestamp? {
        try await withConnection("reading the Retry-After of \(endpoint)") { db in
            let text =
                try db.cachedStatement("SELECT value FROM store_info WHERE key = ?1")
                .queryOne([.text("webhook_not_before:\(endpoint)")]) { $0.text(0) } ?? nil
            return text.flatMap { Timestamp(iso8601: $0) }
        }
    }

    /// Why `endpoint` is disabled, or nil when it is active.
    public func disabledReason(endpoint: String) async throws(StoreError) -> String? {
        try await withConnection("reading the state of \(endpoint)") { db in
            try db.cachedStatement("SELECT reason FROM webhook_endpoints_disabled WHERE endpoint = ?1")
                .queryOne([.text(endpoint)]) { $0.text(0) } ?? nil
        }
    }
}

extension PresenceStore {
    /// Events of `endpoint` an operator requeued with `outbox retry`, oldest first.
    public func requeuedEvents(endpoint: String, limit: Int) async throws(StoreError) -> [ChangeRecord] {
        try await withConnection("reading requeued events of \(endpoint)") { db in
            try Outbox.requeued(endpoint: endpoint, limit: limit, db)
        }
    }

    /// Forgets requeued events once they were delivered (or listed as dead letters again).
    public func clearRequeued(endpoint: String, historyIDs: [Int64]) async throws(StoreError) {
        try await withConnection("clearing requeued events of \(endpoint)") { db in
            try db.inTransaction(.immediate) {
                let delete = try db.cachedStatement(
                    "DELETE FROM webhook_requeued WHERE endpoint = ?1 AND history_id = ?2")
                for id in historyIDs { try delete.execute([.text(endpoint), .integer(id)]) }
            }
        }
    }
}
