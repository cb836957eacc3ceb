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
    private let cursorWriteInterval: Duration
    private let position = Mutex(Position())

    /// Where the relay is: the last event emitted and the cursor value last written to the database.
    private struct Position {
        /// nil until read from the database.
        var emitted: Int64?
        var written: Int64 = 0
        var writtenAt = ContinuousClock.now
    }

    /// - Parameters:
    ///   - source: the CloudEvents `source` attribute put on every event.
    ///   - idleRecheck: how often the outbox is looked at when nobody signals.
    ///   - cursorWriteInterval: how long the written cursor may lag behind while events flow.
    public init(
        name: String, store: any EventLog, sink: any EventSink, source: String, pageSize: Int = 1000,
        idleRecheck: Duration = .seconds(1), cursorWriteInterval: Duration = .seconds(1), logger: Logger
    ) {
        self.cursorWriteInterval = cursorWriteInterval
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
                let backfill = try await deliverBackfillPage()
                if backfill.holdsLive { continue }
                let delivered = try await deliverPage()
                if delivered == pageSize || backfill.emitted { continue }
            } catch {
                logger.error("reading the outbox failed", metadata: ["sink": "\(name)", "error": "\(error)"])
            }
            await wake.wait(timeout: idleRecheck)
        }
        do {
            try await writeCursor(force: true)
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
            try await writeCursor(force: true)
        } catch {
            logger.error("saving the cursor failed", metadata: ["sink": "\(name)", "error": "\(error)"])
        }
        return total
    }

    /// Emits one page after the cursor and moves the cursor past it; returns the page size delivered.
    private func deliverPage() async throws(StoreError) -> Int {
        let cursor: Int64
        if let emitted = position.withLock({ $0.emitted }) {
            cursor = emitted
        } else {
            cursor = try await store.outboxCursor(sink: name)
            position.withLock { $0 = Position(emitted: cursor, written: cursor) }
        }
        let records = try await store.outboxEvents(after: cursor, limit: pageSize)
        guard let last = records.last else {
            // Caught up: the next idle recheck writes the cursor once the interval is over.
            try await writeCursor(force: false)
            return 0
        }
        let instanceID = store.instanceID
        let source = self.source
        await sink.emit(records.map { ChangeEvent(change: $0, source: source, storeInstanceID: instanceID) })
        position.withLock { $0.emitted = last.historyID }
        try await writeCursor(force: false)
        return records.count
    }

    /// Emits the next page of the sink's snapshot or replay, if it has one, and records its position. Returns
    /// whether a page was emitted and whether live events must wait (a snapshot not finished yet).
    private func deliverBackfillPage() async throws(StoreError) -> (emitted: Bool, holdsLive: Bool) {
        guard let backfill = try await store.outboxBackfill(sink: name) else { return (false, false) }
        let page = try await store.backfillPage(backfill, after: backfill.position, limit: pageSize)
        if !page.records.isEmpty {
            let instanceID = store.instanceID
            let source = self.source
            await sink.emit(page.records.map { ChangeEvent(change: $0, source: source, storeInstanceID: instanceID) })
        }
        try await store.advanceBackfill(backfill, to: page.position, finished: page.finished)
        if page.finished {
            logger.notice(
                "\(backfill.kind.rawValue) sent", metadata: ["sink": "\(name)", "total": "\(backfill.total)"])
        }
        return (!page.records.isEmpty, backfill.kind == .snapshot && !page.finished)
    }

    /// Writes the cursor if it moved and (unless `force`) the last write is `cursorWriteInterval` old.
    private func writeCursor(force: Bool) async throws(StoreError) {
        let due: Int64? = position.withLock { position in
            guard let emitted = position.emitted, emitted > position.written else { return nil }
            guard force || ContinuousClock.now - position.writtenAt >= cursorWriteInterval else { return nil }
            return emitted
        }
        guard let due else { return }
        try await store.advanceOutboxCursor(sink: name, through: due)
        position.withLock { position in
            position.written = max(position.written, due)
            position.writtenAt = .now
        }
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
