import Foundation
import Logging
import PresenceSync
import TestSupport
import Testing

/// Snapshots and replays read from the store: the right rows, streamed in pages, resumable.
@Suite("Backfills: snapshot as of a history id, replay pages")
struct BackfillStoreTests {
    static let logger = Logger(label: "backfill-test")

    /// Every page of `backfill` from its position, `limit` records each, recording progress after each page.
    static func drain(
        _ store: PresenceStore, _ backfill: OutboxBackfill, limit: Int
    ) async throws -> [ChangeRecord] {
        var records: [ChangeRecord] = []
        var position = backfill.position
        while true {
            let page = try await store.backfillPage(backfill, after: position, limit: limit)
            records += page.records
            try await store.advanceBackfill(backfill, to: page.position, finished: page.finished)
            position = page.position
            if page.finished { return records }
        }
    }

    /// A store with four rounds of changes of every user, 4, 3, 2 and 1 hours ago, and the changes of each round.
    static func fourHours(_ directory: TemporaryDirectory) async throws -> (PresenceStore, [[ChangeRecord]]) {
        let store = try PresenceStore(path: directory.file("p.db"), logger: Self.logger)
        var rounds: [[ChangeRecord]] = []
        for round in 0..<4 {
            rounds.append(
                try await store.record(
                    OutboxTests.observations(round: round), observedAt: SinkStartTests.hoursAgo(Double(4 - round))))
        }
        return (store, rounds)
    }

    @Test("a snapshot sends each user's state as of its history id, not the newer one, once, with stable ids")
    func snapshotAsOf() async throws {
        let directory = TemporaryDirectory()
        let store = try PresenceStore(path: directory.file("p.db"), logger: Self.logger)
        for round in 0..<2 {
            _ = try await store.record(OutboxTests.observations(round: round), observedAt: OutboxTests.at(Int64(round)))
        }
        let start = try await store.startOutboxCursor(sink: "webhook:late", from: .snapshot)
        let asOf = start.cursor
        // Users change after the snapshot's history id: the snapshot must still show round 1.
        for round in 2..<4 {
            _ = try await store.record(OutboxTests.observations(round: round), observedAt: OutboxTests.at(Int64(round)))
        }
        let backfill = try #require(try await store.outboxBackfill(sink: "webhook:late"))
        #expect(backfill.kind == .snapshot && backfill.through == asOf && backfill.total == OutboxTests.users.count)
        let records = try await Self.drain(store, backfill, limit: 7)
        let expected = Dictionary(
            uniqueKeysWithValues: OutboxTests.observations(round: 1).map { ($0.userID, $0.state) })
        #expect(records.map(\.userID).sorted() == OutboxTests.users)
        for record in records {
            #expect(record.current == expected[record.userID] && record.historyID <= asOf)
            #expect(record.previous == nil && !record.changedFields.isEmpty)
            #expect(record.origin == .snapshot(asOf: asOf))
        }
        // Since when: the row's own valid_from (round 1 for users who changed then, round 0 for the others).
        let reader = try HistoryReader(path: directory.file("p.db"))
        for record in records {
            let since =
                try reader.connection.prepare("SELECT valid_from FROM presence_history WHERE id = ?1")
                .queryOne([.integer(record.historyID)]) { $0.text(0) } ?? nil
            #expect(since == record.since.iso8601)
        }
        let event = ChangeEvent(change: records[0], source: "/test", storeInstanceID: store.instanceID)
        #expect(event.id == "\(store.instanceID):snapshot:\(asOf):\(records[0].historyID)")
        let json = String(decoding: event.json(), as: UTF8.self)
        #expect(json.contains(#""type":"io.presence-sync.presence.snapshot.v1""#) && json.contains(#""previous":null"#))
        #expect(try await store.outboxBackfill(sink: "webhook:late") == nil)
        #expect(try await store.outboxCursor(sink: "webhook:late") == asOf)
        await store.close()
    }

    @Test("a snapshot stopped mid-way resumes after reopening the store, losing no user")
    func snapshotResumes() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        var store = try PresenceStore(path: path, logger: Self.logger)
        _ = try await store.record(OutboxTests.observations(round: 0), observedAt: OutboxTests.at(0))
        _ = try await store.startOutboxCursor(sink: "webhook:late", from: .snapshot)
        let backfill = try #require(try await store.outboxBackfill(sink: "webhook:late"))
        let first = try await store.backfillPage(backfill, after: backfill.position, limit: 8)
        try await store.advanceBackfill(backfill, to: first.position, finished: first.finished)
        // A page read but not delivered before the crash: its position is never recorded.
        _ = try await store.backfillPage(backfill, after: first.position, limit: 8)
        await store.close()

        store = try PresenceStore(path: path, logger: Self.logger)
        let resumed = try #require(try await store.outboxBackfill(sink: "webhook:late"))
        #expect(resumed.position == first.position && !first.finished && first.records.count == 8)
        let rest = try await Self.drain(store, resumed, limit: 8)
        #expect(Set(rest.map(\.userID)).isDisjoint(with: first.records.map(\.userID)))
        #expect((first.records + rest).map(\.userID).sorted() == OutboxTests.users)
        #expect(try await store.outboxBackfill(sink: "webhook:late") == nil)
        await store.close()
    }

    @Test("replay pages hold the changes from the time up to the cursor, with their ids, marked replayed")
    func replayPages() async throws {
        let directory = TemporaryDirectory()
        let (store, rounds) = try await Self.fourHours(directory)
        let cursor = try #require(rounds[2].last?.historyID)
        try await store.advanceOutboxCursor(sink: "webhook:a", through: cursor)
        let request = try #require(
            try await store.requestReplay(sink: "webhook:a", since: SinkStartTests.hoursAgo(3.5)))
        #expect(request.warning == nil && request.backfill.through == cursor)
        #expect(request.backfill.total == rounds[1].count + rounds[2].count)
        let replayed = try await Self.drain(store, request.backfill, limit: 5)
        var expected = rounds[1] + rounds[2]
        for index in expected.indices { expected[index].origin = .replay(request: request.backfill.requestedAt) }
        #expect(replayed == expected)
        let event = ChangeEvent(change: replayed[0], source: "/test", storeInstanceID: store.instanceID)
        #expect(event.id == "\(store.instanceID):\(rounds[1][0].historyID)")
        #expect(String(decoding: event.json(), as: UTF8.self).contains(#""replayed":true"#))
        // The live cursor did not move; nothing is left to replay.
        #expect(try await store.outboxCursor(sink: "webhook:a") == cursor)
        #expect(try await store.outboxBackfill(sink: "webhook:a") == nil)
        #expect(try await store.requestReplay(sink: "webhook:a", since: .now()) == nil)
        await store.close()
    }

    @Test("retention keeps the rows a replay in progress has not sent yet")
    func retentionKeepsReplay() async throws {
        let directory = TemporaryDirectory()
        let (store, rounds) = try await Self.fourHours(directory)
        let newest = try #require(rounds[3].last?.historyID)
        try await store.advanceOutboxCursor(sink: "webhook:a", through: newest)
        let request = try #require(
            try await store.requestReplay(sink: "webhook:a", since: SinkStartTests.hoursAgo(10)))
        let pinned = try await store.pruneHistory(before: .now(), sinks: ["webhook:a"])
        let replayed = try await Self.drain(store, request.backfill, limit: 50)
        #expect(pinned.rowsDeleted == 0 && replayed.map(\.historyID) == rounds.flatMap { $0.map(\.historyID) })
        // A replay of a sink no longer configured holds nothing back, as its cursor does not.
        try await store.advanceOutboxCursor(sink: "webhook:gone", through: newest)
        _ = try #require(try await store.requestReplay(sink: "webhook:gone", since: SinkStartTests.hoursAgo(10)))
        let pruned = try await store.pruneHistory(before: .now(), sinks: ["webhook:a"])
        #expect(pruned.rowsDeleted == 3 * OutboxTests.users.count)
        await store.close()
    }

    @Test("the stdout relay emits a replay beside its live events, marked replayed, and finishes it")
    func relayReplays() async throws {
        let directory = TemporaryDirectory()
        let (store, rounds) = try await Self.fourHours(directory)
        let newest = try #require(rounds[3].last?.historyID)
        try await store.advanceOutboxCursor(sink: "stdout", through: newest)
        let request = try #require(try await store.requestReplay(sink: "stdout", since: SinkStartTests.hoursAgo(2.5)))
        let sink = CollectingSink()
        let relay = OutboxRelay(
            name: "stdout", store: store, sink: sink, source: "urn:test", pageSize: 7, idleRecheck: .milliseconds(20),
            logger: Self.logger)
        let task = Task { await relay.run() }
        let live = try await store.record(OutboxTests.observations(round: 4), observedAt: .now())
        relay.notify()
        let expected = (rounds[2] + rounds[3]).map(\.historyID)
        // Generous: the whole suite runs in parallel on two cores (it returns as soon as everything arrived).
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let replayedCount = sink.events.filter { $0.change.origin != .live }.count
            let liveCount = sink.events.filter { $0.change.origin == .live }.count
            if replayedCount >= expected.count && liveCount >= live.count,
                try await store.outboxBackfill(sink: "stdout") == nil
            {
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        task.cancel()
        await task.value
        let replayed = sink.events.filter { $0.change.origin == .replay(request: request.backfill.requestedAt) }
        #expect(replayed.map(\.change.historyID) == expected)
        #expect(replayed.allSatisfy { $0.id == "\(store.instanceID):\($0.change.historyID)" })
        #expect(sink.events.filter { $0.change.origin == .live }.map(\.change.historyID) == live.map(\.historyID))
        #expect(try await store.outboxBackfill(sink: "stdout") == nil)
        await store.close()
    }
}
