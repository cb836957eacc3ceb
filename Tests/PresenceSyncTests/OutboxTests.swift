import Foundation
import Logging
import PresenceSync
import SQLite
import TestSupport
import Testing

/// The outbox: written with the history in one transaction, read by sinks through their own cursors.
@Suite("Outbox: events stored with their history rows, delivered from a cursor")
struct OutboxTests {
    static let logger = Logger(label: "outbox-test")
    static let users = (0..<20).map { String(format: "00000000-0000-4000-8000-%012d", $0) }

    static func observations(round: Int) -> [PresenceObservation] {
        users.enumerated().map { index, user in
            let busy = (index + round) % 3 == 0
            return PresenceObservation(
                userID: user,
                state: PresenceState(
                    availability: busy ? "Busy" : "Available", activity: busy ? "InAMeeting" : "Available",
                    statusMessage: round % 2 == 0 ? nil : "round \(round)", workLocationType: "office"),
                sequenceNumber: "C\(round)")
        }
    }

    static func at(_ seconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: 1_800_000_000_000 + seconds * 1000)
    }

    @Test("every stored change has exactly one outbox row, which reads back as the same change")
    func roundTrip() async throws {
        let directory = TemporaryDirectory()
        let store = try PresenceStore(path: directory.file("p.db"), logger: Self.logger)
        var recorded: [ChangeRecord] = []
        for round in 0..<4 {
            recorded += try await store.record(Self.observations(round: round), observedAt: Self.at(Int64(round)))
        }
        let stored = try await store.outboxEvents(after: 0, limit: 10_000)
        #expect(stored == recorded)
        #expect(stored.contains { $0.previous == nil } && stored.contains { $0.previous != nil })
        let page = try await store.outboxEvents(after: recorded[4].historyID, limit: 3)
        #expect(page == Array(recorded[5..<8]))
        await store.close()
        let reader = try HistoryReader(path: directory.file("p.db"))
        #expect(
            try reader.integer("SELECT count(*) FROM outbox") == reader.integer("SELECT count(*) FROM presence_history")
        )
    }

    @Test("a batch that rolls back leaves neither history nor outbox rows")
    func rollbackWritesNoEvent() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let store = try PresenceStore(path: path, logger: Self.logger)
        _ = try await store.record(Self.observations(round: 0), observedAt: Self.at(0))
        await store.close()
        // A trigger makes the history insert of the sixth user's next change fail, as a full disk would.
        let db = try Connection(path: path)
        try db.execute(
            """
            CREATE TRIGGER fail_history BEFORE INSERT ON history
            WHEN NEW.user = (SELECT key FROM user_keys WHERE user_id = '\(Self.users[5])')
            BEGIN SELECT RAISE(ABORT, 'simulated failure'); END;
            """)
        try db.close()
        let reopened = try PresenceStore(path: path, logger: Self.logger)
        await #expect(throws: StoreError.self) {
            _ = try await reopened.record(Self.observations(round: 1), observedAt: Self.at(1))
        }
        await reopened.close()
        let reader = try HistoryReader(path: path)
        #expect(try reader.integer("SELECT count(*) FROM presence_history") == Self.users.count)
        #expect(try reader.integer("SELECT count(*) FROM outbox") == Self.users.count)
    }

    @Test("a relay emits the backlog in history order, advances its cursor, and does not emit twice")
    func relayDelivers() async throws {
        let directory = TemporaryDirectory()
        let store = try PresenceStore(path: directory.file("p.db"), logger: Self.logger)
        var recorded: [ChangeRecord] = []
        for round in 0..<5 {
            recorded += try await store.record(Self.observations(round: round), observedAt: Self.at(Int64(round)))
        }
        let sink = CollectingSink()
        let relay = OutboxRelay(
            name: "stdout", store: store, sink: sink, source: "urn:test", pageSize: 7, logger: Self.logger)
        // A generous limit: 15 pages, each a committed cursor move (an fsync), exceed drain's default 5 s when many
        // tests share a loaded machine's disk; this test is about order and cursors, not speed.
        #expect(await relay.drain(limit: .seconds(60)) == recorded.count)
        #expect(sink.events.map(\.change) == recorded)
        #expect(
            sink.events.allSatisfy { $0.id == "\(store.instanceID):\($0.change.historyID)" && $0.source == "urn:test" })
        #expect(try await store.outboxCursor(sink: "stdout") == recorded.last?.historyID)
        #expect(await relay.drain(limit: .seconds(60)) == 0)
        #expect(try await store.outboxBacklog(sink: "stdout").count == 0)
        // Another sink has its own cursor and sees everything.
        #expect(try await store.outboxBacklog(sink: "other").count == recorded.count)
        await store.close()
    }

    @Test("a running relay is woken by the cycle's notification and stops on cancellation")
    func relayRunsUntilCancelled() async throws {
        let directory = TemporaryDirectory()
        let store = try PresenceStore(path: directory.file("p.db"), logger: Self.logger)
        let sink = CollectingSink()
        let relay = OutboxRelay(
            name: "stdout", store: store, sink: sink, source: "urn:test", idleRecheck: .seconds(60), logger: Self.logger
        )
        let task = Task { await relay.run() }
        let changes = try await store.record(Self.observations(round: 0), observedAt: Self.at(0))
        relay.notify()
        let deadline = ContinuousClock.now + .seconds(10)
        while sink.events.count < changes.count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(sink.events.count == changes.count, "woken long before the 60 s recheck")
        task.cancel()
        await task.value
        await store.close()
    }

    @Test("history retention keeps every row an undelivered event needs, its previous row included")
    func pruningKeepsWhatEventsNeed() async throws {
        let directory = TemporaryDirectory()
        let store = try PresenceStore(path: directory.file("p.db"), logger: Self.logger)
        let first = try await store.record(Self.observations(round: 0), observedAt: Self.at(0))
        let second = try await store.record(Self.observations(round: 1), observedAt: Self.at(3600))
        let third = try await store.record(Self.observations(round: 2), observedAt: Self.at(7200))
        let later = Self.at(7201)
        try await store.advanceOutboxCursor(sink: "a", through: third.last!.historyID)
        // "b" has delivered nothing yet: nothing may go.
        #expect(try await store.pruneHistory(before: later, sinks: ["a", "b"]).rowsDeleted == 0)
        // "b" has the first round: the second round's events still need the first round's rows (their previous).
        try await store.advanceOutboxCursor(sink: "b", through: first.last!.historyID)
        #expect(try await store.pruneHistory(before: later, sinks: ["a", "b"]).rowsDeleted == 0)
        // A dead letter of the second round keeps the first round too.
        let deadLetter = second[0].historyID
        try await store.advanceOutboxCursor(sink: "b", through: third.last!.historyID)
        try await store.recordDeadLetters(
            endpoint: "b", events: [(deadLetter, Self.users[0])], attempts: 1, error: "HTTP 422")
        #expect(try await store.pruneHistory(before: Self.at(1800), sinks: ["a", "b"]).rowsDeleted == 0, "too young")
        #expect(try await store.pruneHistory(before: later, sinks: ["a", "b"]).rowsDeleted == 0)
        let db = try Connection(path: directory.file("p.db"))
        try db.execute("DELETE FROM webhook_dead_letters")
        try db.close()
        // Everything delivered: the first round (closed at 3600) goes; the second (closed at 7200) is younger.
        let pruned = try await store.pruneHistory(before: Self.at(3601), sinks: ["a", "b"]).rowsDeleted
        #expect(pruned == first.count)
        let events = try await store.outboxEvents(after: second.last!.historyID, limit: 100)
        #expect(events == third)
        #expect(events.allSatisfy { $0.previous != nil })
        // A cursor never moves back.
        try await store.advanceOutboxCursor(sink: "b", through: 1)
        #expect(try await store.outboxCursor(sink: "b") == third.last!.historyID)
        await store.close()
    }
}
