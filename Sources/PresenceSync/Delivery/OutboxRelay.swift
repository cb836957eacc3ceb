import Logging
import Synchronization

/// Feeds one sink (standard output, a test sink) from the outbox, with its own cursor.
///
/// It reads the events after the sink's cursor in pages (never the whole backlog), hands them to the sink, and
/// only then advances the cursor in the database. A crash between the two re-emits the page on the next start,
/// with the same event ids, instead of losing it: delivery is at least once. Sinks fed this way must write before
/// `emit` returns (`StdoutSink` does).
///
/// The cursor is kept in memory and written at most every `cursorWriteInterval` (the idle recheck writes one that
/// is left behind), and when the relay stops or drains. Each write is a commit (an fsync with the default
/// synchronous mode), and a busy cycle hands the relay many pages: writing after each one cost more commits per
/// cycle than the poll cycle's own. A crash re-emits at most that interval's events, with the same ids.
///
/// A replay (`presence-sync replay --sink stdout`) is emitted a page at a time between live pages, its position
/// recorded after each page (the sink has written it by then); a snapshot, should the log hold one for this sink,
/// is emitted before any live page.
public final class OutboxRelay: Sendable {
    /// The cursor name in `outbox_cursors` (e.g. `stdout`).
    public let name: String
    private let store: any EventLog
    private let sink: any EventSink
    private let source: String
    private let pageSize: Int
    private let idleRecheck: Duration
    private let logger: Logger
    private let wake = WakeSignal()
    private let cursor: SinkCursor

    /// - Parameters:
    ///   - source: the CloudEvents `source` attribute put on every event.
    ///   - idleRecheck: how often the outbox is looked at when nobody signals.
    ///   - cursorWriteInterval: how long the written cursor may lag behind while events flow.
    public init(
        name: String, store: any EventLog, sink: any EventSink, source: String, pageSize: Int = 1000,
        idleRecheck: Duration = .seconds(1), cursorWriteInterval: Duration = .seconds(1), logger: Logger
    ) {
        self.cursor = SinkCursor(sink: name, store: store, writeInterval: cursorWriteInterval) {
            () async throws(StoreError) -> Int64 in try await store.outboxCursor(sink: name)
        }
        self.name = name
        self.store = store
        self.sink = sink
        self.source = source
        self.pageSize = pageSize
        self.idleRecheck = idleRecheck
        self.logger = logger
    }

    /// Tells the relay that new events were committed (called after each stored batch).
    public func notify() { wake.signal() }

    /// Delivers until cancelled. Store errors are logged and retried after `idleRecheck`; nothing is skipped.
    public func run() async {
        while !Task.isCancelled {
            do {
                let backfill = try await cursor.deliverBackfillPage(limit: pageSize, logger: logger) { records in
                    await emit(records)
                }
                if backfill.holdsLive { continue }
                let delivered = try await deliverPage()
                if delivered == pageSize || (backfill.records ?? 0) > 0 { continue }
            } catch {
                logger.error("reading the outbox failed", metadata: ["sink": "\(name)", "error": "\(error)"])
            }
            await wake.wait(timeout: idleRecheck)
        }
        do {
            try await cursor.write(force: true)
        } catch {
            logger.error("saving the cursor failed", metadata: ["sink": "\(name)", "error": "\(error)"])
        }
    }

    /// Delivers everything committed so far, within `limit` (at shutdown, after the last batch was stored).
    /// Returns the number of events delivered.
    @discardableResult
    public func drain(limit: Duration = .seconds(5)) async -> Int {
        let deadline = ContinuousClock.now + limit
        var total = 0
        while ContinuousClock.now < deadline {
            do {
                let delivered = try await deliverPage()
                total += delivered
                if delivered < pageSize { break }
            } catch {
                logger.error("draining the outbox failed", metadata: ["sink": "\(name)", "error": "\(error)"])
                break
            }
        }
        await sink.flush()
        do {
            try await cursor.write(force: true)
        } catch {
            logger.error("saving the cursor failed", metadata: ["sink": "\(name)", "error": "\(error)"])
        }
        return total
    }

    /// Emits one page after the cursor and moves the cursor past it; returns the page size delivered.
    private func deliverPage() async throws(StoreError) -> Int {
        let records = try await store.outboxEvents(after: try await cursor.delivered(), limit: pageSize)
        guard let last = records.last else {
            // Caught up: the next idle recheck writes the cursor once the interval is over.
            try await cursor.write(force: false)
            return 0
        }
        await emit(records)
        try await cursor.advance(to: last.historyID)
        return records.count
    }

    private func emit(_ records: [ChangeRecord]) async {
        let instanceID = store.instanceID
        let source = self.source
        await sink.emit(records.map { ChangeEvent(change: $0, source: source, storeInstanceID: instanceID) })
    }
}

/// Something that delivers from the outbox with its own cursor (standard output, a webhook endpoint).
public protocol OutboxReader: Sendable {
    /// The cursor name in `outbox_cursors`.
    var name: String { get }
    /// New events were committed: look now rather than at the next idle recheck.
    func notify()
    /// Delivers until cancelled.
    func run() async
}

extension OutboxRelay: OutboxReader {}
extension WebhookDispatcher: OutboxReader {}
