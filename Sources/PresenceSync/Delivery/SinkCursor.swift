import Logging
import Synchronization

/// The reading position of a sink that delivers one page at a time (standard output, a PostgreSQL mirror): its
/// cursor, written back lazily, and its snapshot or replay.
///
/// The cursor is read from the store once and then kept in memory. It is written at most every `writeInterval`
/// while events flow (each write is a commit, and a busy cycle hands a sink many pages), and when the sink stops; a
/// crash re-delivers at most that interval's events, with the same ids.
final class SinkCursor: Sendable {
    let sink: String
    private let store: any EventLog
    private let writeInterval: Duration
    private let start: @Sendable () async throws(StoreError) -> Int64
    private let position = Mutex(Position())

    private struct Position {
        /// The last history id delivered; nil until read from the store.
        var delivered: Int64?
        var written: Int64 = 0
        var writtenAt = ContinuousClock.now
    }

    /// - Parameter start: reads (or places, for a new sink) the cursor in the store, the first time it is needed.
    init(
        sink: String, store: any EventLog, writeInterval: Duration,
        start: @escaping @Sendable () async throws(StoreError) -> Int64
    ) {
        self.sink = sink
        self.store = store
        self.writeInterval = writeInterval
        self.start = start
    }

    /// The last history id delivered.
    func delivered() async throws(StoreError) -> Int64 {
        if let delivered = position.withLock({ $0.delivered }) { return delivered }
        let cursor = try await start()
        position.withLock { $0 = Position(delivered: cursor, written: cursor) }
        return cursor
    }

    /// Records that every event up to `historyID` left the sink, then writes the cursor if it is due.
    func advance(to historyID: Int64) async throws(StoreError) {
        position.withLock { $0.delivered = max($0.delivered ?? historyID, historyID) }
        try await write(force: false)
    }

    /// Writes the cursor if it moved and (unless `force`) the last write is `writeInterval` old.
    func write(force: Bool) async throws(StoreError) {
        let due: Int64? = position.withLock { position in
            guard let delivered = position.delivered, delivered > position.written else { return nil }
            guard force || ContinuousClock.now - position.writtenAt >= writeInterval else { return nil }
            return delivered
        }
        guard let due else { return }
        try await store.advanceOutboxCursor(sink: sink, through: due)
        position.withLock { position in
            position.written = max(position.written, due)
            position.writtenAt = .now
        }
    }

    /// Delivers the next page of the sink's snapshot or replay, if it has one, through `deliver`, and records its
    /// position. Returns how many records the page held (nil without a backfill) and whether live events must wait
    /// (a snapshot not finished yet: its states come before the changes after it).
    func deliverBackfillPage(
        limit: Int, logger: Logger, _ deliver: ([ChangeRecord]) async throws -> Void
    ) async throws -> (records: Int?, holdsLive: Bool) {
        guard let backfill = try await store.outboxBackfill(sink: sink) else { return (nil, false) }
        let page = try await store.backfillPage(backfill, after: backfill.position, limit: limit)
        if !page.records.isEmpty { try await deliver(page.records) }
        try await store.advanceBackfill(backfill, to: page.position, finished: page.finished)
        if page.finished {
            logger.notice(
                "\(backfill.kind.rawValue) sent", metadata: ["sink": "\(sink)", "total": "\(backfill.total)"])
        }
        return (page.records.count, backfill.kind == .snapshot && !page.finished)
    }
}
