import Logging
import Synchronization
import TestSupport
import Testing

@testable import PresenceSync

/// An event log in memory, whose reads can be made to fail: what `OutboxRelay` sees of the store, and nothing else.
final class MemoryEventLog: EventLog {
    let instanceID = "memory-log"
    private let state = Mutex((events: [ChangeRecord](), cursors: [String: Int64](), failingReads: 0))

    func append(_ count: Int) {
        state.withLock { state in
            for _ in 0..<count {
                let id = Int64(state.events.count + 1)
                state.events.append(
                    ChangeRecord(
                        historyID: id, userID: "user-\(id % 7)", previous: nil, previousSince: nil,
                        current: PresenceState(availability: "Busy", activity: "InACall"), sequenceNumber: nil,
                        changedFields: PresenceField.allCases, since: Timestamp(millisecondsSinceEpoch: id * 1000)))
            }
        }
    }

    /// The next `count` reads of events fail as a locked or unreadable file would.
    func failReads(_ count: Int) { state.withLock { $0.failingReads = count } }

    func cursor(_ sink: String) -> Int64? { state.withLock { $0.cursors[sink] } }

    func outboxEvents(after historyID: Int64, limit: Int) async throws(StoreError) -> [ChangeRecord] {
        let result: [ChangeRecord]? = state.withLock { state in
            if state.failingReads > 0 {
                state.failingReads -= 1
                return nil
            }
            return Array(state.events.filter { $0.historyID > historyID }.prefix(limit))
        }
        guard let result else {
            throw StoreError(path: "memory", operation: "reading events", HistoryQueryProblem("simulated failure"))
        }
        return result
    }

    func outboxCursor(sink: String) async throws(StoreError) -> Int64 { state.withLock { $0.cursors[sink] ?? 0 } }

    func advanceOutboxCursor(sink: String, through historyID: Int64) async throws(StoreError) {
        state.withLock { $0.cursors[sink] = max($0.cursors[sink] ?? 0, historyID) }
    }
}

@Suite("OutboxRelay over any EventLog: pages in order, the cursor only after the sink, failures retried")
struct EventLogTests {
    static let logger = Logger(label: "test")

    @Test("a backlog is emitted page by page in history order and the cursor follows what the sink took")
    func pagesInOrder() async throws {
        let log = MemoryEventLog()
        log.append(25)
        let sink = CollectingSink()
        let relay = OutboxRelay(
            name: "test", store: log, sink: sink, source: "urn:test", pageSize: 10, logger: Self.logger)
        #expect(await relay.drain() == 25)
        #expect(sink.events.map(\.change.historyID) == Array(1...25))
        #expect(log.cursor("test") == 25)
        log.append(3)
        #expect(await relay.drain() == 3, "only what came after the cursor")
        #expect(sink.events.count == 28)
    }

    @Test("a failed read is retried after the idle recheck and skips nothing")
    func failedReadRetried() async throws {
        let log = MemoryEventLog()
        log.append(5)
        log.failReads(2)
        let sink = CollectingSink()
        let relay = OutboxRelay(
            name: "test", store: log, sink: sink, source: "urn:test", idleRecheck: .milliseconds(20),
            cursorWriteInterval: .zero, logger: Self.logger)
        let task = Task { await relay.run() }
        let deadline = ContinuousClock.now + .seconds(10)
        while log.cursor("test") != 5 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        await task.value
        #expect(sink.events.map(\.change.historyID) == Array(1...5))
        #expect(log.cursor("test") == 5)
    }
}
