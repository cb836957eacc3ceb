/// What an event reader needs from the store: the history read as events, and its cursor.
///
/// `OutboxRelay` and `WebhookDispatcher` depend on this (and `WebhookState`), not on `PresenceStore`, so they see
/// only the part of the store that is theirs and their tests can read from a log of their own.
public protocol EventLog: Sendable {
    /// A random id minted with the database; with a history row id it makes a stable event id.
    var instanceID: String { get }
    /// Up to `limit` events after `historyID`, oldest first.
    func outboxEvents(after historyID: Int64, limit: Int) async throws(StoreError) -> [ChangeRecord]
    /// The delivery cursor of `sink` (for a new sink: just before the events of the new-sink window).
    func outboxCursor(sink: String) async throws(StoreError) -> Int64
    /// Moves the cursor of `sink` forward to `historyID` once those events have been delivered.
    func advanceOutboxCursor(sink: String, through historyID: Int64) async throws(StoreError)

    /// The cursor of `sink`, placed as `start` asks when the sink is seen for the first time (`SinkStart`).
    func startOutboxCursor(sink: String, from start: StartFrom?) async throws(StoreError) -> SinkStart
    /// The snapshot or replay `sink` has to send, if any.
    func outboxBackfill(sink: String) async throws(StoreError) -> OutboxBackfill?
    /// The next page of `backfill` after `position`: at most `limit` records, streamed from the file.
    func backfillPage(_ backfill: OutboxBackfill, after position: Int64, limit: Int) async throws(StoreError)
        -> BackfillPage
    /// Records that `backfill` was delivered up to `position` (all of it when `finished`).
    func advanceBackfill(_ backfill: OutboxBackfill, to position: Int64, finished: Bool) async throws(StoreError)
}

/// A log that keeps no snapshots or replays (a test's log in memory): sinks start at `outboxCursor`.
extension EventLog {
    public func startOutboxCursor(sink: String, from start: StartFrom?) async throws(StoreError) -> SinkStart {
        SinkStart(cursor: try await outboxCursor(sink: sink))
    }
    public func outboxBackfill(sink: String) async throws(StoreError) -> OutboxBackfill? { nil }
    public func backfillPage(_ backfill: OutboxBackfill, after position: Int64, limit: Int) async throws(StoreError)
        -> BackfillPage
    { BackfillPage(records: [], position: position, finished: true) }
    public func advanceBackfill(_ backfill: OutboxBackfill, to position: Int64, finished: Bool) async throws(StoreError)
    {
    }
}

/// The durable state of webhook endpoints: dead letters, requeued events, pauses and endpoints disabled by 410.
public protocol WebhookState: Sendable {
    func recordDeadLetters(
        endpoint: String, events: [(historyID: Int64, userID: String)], attempts: Int, error: String
    ) async throws(StoreError)
    func disableEndpoint(_ endpoint: String, reason: String) async throws(StoreError)
    func disabledReason(endpoint: String) async throws(StoreError) -> String?
    func setWebhookNotBefore(endpoint: String, _ time: Timestamp?) async throws(StoreError)
    func webhookNotBefore(endpoint: String) async throws(StoreError) -> Timestamp?
    func requeuedEvents(endpoint: String, limit: Int) async throws(StoreError) -> [ChangeRecord]
    func clearRequeued(endpoint: String, historyIDs: [Int64]) async throws(StoreError)
}

extension PresenceStore: EventLog, WebhookState {}
