import Foundation
import Logging
import PresenceSync
import TestSupport
import Testing

/// `startFrom`: where a sink seen for the first time starts, and that the choice is made once.
@Suite("Sink start: now, a time, the window rule")
struct SinkStartTests {
    static let logger = Logger(label: "sink-start-test")

    /// A store with three rounds of changes of `OutboxTests.users`, 3, 2 and 1 hours ago; the ids of each round.
    static func store(_ directory: TemporaryDirectory, windowHours: Double = 24) async throws -> (
        PresenceStore, [[Int64]]
    ) {
        let store = try PresenceStore(
            path: directory.file("p.db"), newSinkWindowHours: windowHours, logger: Self.logger)
        var rounds: [[Int64]] = []
        for round in 0..<3 {
            let changes = try await store.record(
                OutboxTests.observations(round: round), observedAt: hoursAgo(Double(3 - round)))
            rounds.append(changes.map(\.historyID))
        }
        return (store, rounds)
    }

    static func hoursAgo(_ hours: Double) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch - Int64(hours * 3_600_000))
    }

    @Test("now starts after the newest row, and keeps that cursor on later starts whatever they ask")
    func now() async throws {
        let directory = TemporaryDirectory()
        let (store, rounds) = try await Self.store(directory)
        let newest = try #require(rounds.last?.last)
        let first = try await store.startOutboxCursor(sink: "webhook:a", from: .now)
        #expect(first.cursor == newest && first.decision?.contains("startFrom now") == true && first.warning == nil)
        _ = try await store.record(OutboxTests.observations(round: 3), observedAt: .now())
        let again = try await store.startOutboxCursor(sink: "webhook:a", from: .snapshot)
        #expect(again.cursor == newest && again.decision == nil && again.warning == nil)
        #expect(try await store.outboxBackfill(sink: "webhook:a") == nil)
        await store.close()
    }

    @Test("a time starts with the first change at or after it; a time before the history starts at its oldest row")
    func time() async throws {
        let directory = TemporaryDirectory()
        let (store, rounds) = try await Self.store(directory)
        let middle = try await store.startOutboxCursor(sink: "webhook:a", from: .time(Self.hoursAgo(2.5)))
        #expect(middle.cursor == rounds[0].last && middle.warning == nil)
        #expect(try await store.outboxEvents(after: middle.cursor, limit: 1).first?.historyID == rounds[1].first)
        let old = try await store.startOutboxCursor(sink: "webhook:b", from: .time(Self.hoursAgo(48)))
        #expect(old.cursor == rounds[0][0] - 1)
        #expect(old.warning?.contains("older than the oldest history row kept") == true)
        await store.close()
    }

    @Test("no startFrom keeps the window rule and writes no cursor until the sink delivers")
    func window() async throws {
        let directory = TemporaryDirectory()
        let (store, rounds) = try await Self.store(directory, windowHours: 1.5)
        let start = try await store.startOutboxCursor(sink: "webhook:a", from: nil)
        let windowCursor = try await store.outboxCursor(sink: "webhook:a")
        #expect(start.cursor == rounds[1].last && start.cursor == windowCursor)
        #expect(start.decision?.contains("no startFrom") == true)
        await store.close()
        let reader = try HistoryReader(path: directory.file("p.db"))
        #expect(try reader.integer("SELECT count(*) FROM outbox_cursors") == 0)
    }
}
