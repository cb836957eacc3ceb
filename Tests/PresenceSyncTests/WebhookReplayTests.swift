import Foundation
import GraphSimulator
import Logging
import PresenceSync
import TestSupport
import Testing

/// Late consumers end to end: a daemon against the simulator, webhook endpoints on loopback receivers, and the
/// `replay` command run as its own process against the running daemon's file.
@Suite("Webhook snapshot and replay", .serialized)
struct WebhookReplayTests {
    typealias Fixture = WebhookDeliveryTests.Fixture
    static let logger = Logger(label: "webhook-replay-test")

    /// The acknowledged events, first acknowledgement of each id only, in arrival order, with their kinds.
    static func firstAcknowledged(
        _ receiver: WebhookReceiver
    ) -> [(id: String, subject: String, historyID: Int64, type: String, replayed: Bool, webhookID: String)] {
        var seen = Set<String>()
        var events: [(id: String, subject: String, historyID: Int64, type: String, replayed: Bool, webhookID: String)] =
            []
        for delivery in receiver.acknowledged {
            for (event, kind) in zip(delivery.events, delivery.kinds) where seen.insert(event.id).inserted {
                events.append((event.id, event.subject, event.historyID, kind.type, kind.replayed, delivery.webhookID))
            }
        }
        return events
    }

    /// Starts a daemon that polls every `interval` seconds until stopped.
    static func start(_ configuration: Configuration, _ fixture: Fixture) -> (Daemon, Task<Void, any Error>) {
        let daemon = Daemon(configuration: configuration, options: fixture.options, logger: logger)
        return (daemon, Task { try await daemon.run() })
    }

    @Test("startFrom snapshot: one snapshot event per tracked user, before any change of that user, then changes")
    func snapshotThenChanges() async throws {
        let fixture = try await Fixture(users: 150, changeProbability: 0.3)
        let receiver = try await WebhookReceiver(secrets: [WebhookDeliveryTests.secret])
        defer {
            Task {
                await receiver.stop()
                await fixture.simulator.stop()
            }
        }
        // A history from before the endpoint existed.
        try await fixture.run(try fixture.configuration([]), cycles: 2)
        let endpoint = fixture.endpoint("late", receiver, ["startFrom": "snapshot", "mode": "batch"])
        let (daemon, task) = Self.start(try fixture.configuration([endpoint], interval: 0.2), fixture)
        let tracked = try fixture.reader().integer(
            "SELECT count(DISTINCT user_id) FROM users WHERE tracking_stopped IS NULL")
        let snapshotType = ChangeEvent.snapshotType
        #expect(
            await receiver.wait { _ in
                let events = Self.firstAcknowledged(receiver)
                return events.filter { $0.type == snapshotType }.count == tracked
                    && events.filter { $0.type == ChangeEvent.type }.count >= 20
            })
        daemon.stop()
        try await task.value

        let events = Self.firstAcknowledged(receiver)
        let snapshots = events.filter { $0.type == snapshotType }
        #expect(tracked == 150 && snapshots.count == tracked)
        #expect(Set(snapshots.map(\.subject)).count == tracked)
        // One snapshot: every id names the same as-of history id, and every change comes after it.
        let asOfs = Set(snapshots.map { $0.id.split(separator: ":").dropLast().last.map(String.init) ?? "" })
        let asOf = try #require(asOfs.first.flatMap { Int64($0) })
        #expect(asOfs.count == 1 && snapshots.allSatisfy { $0.historyID <= asOf && !$0.replayed })
        var seenSnapshot = Set<String>()
        for event in events {
            if event.type == snapshotType {
                seenSnapshot.insert(event.subject)
            } else {
                #expect(seenSnapshot.contains(event.subject), "a change of \(event.subject) before its snapshot")
                #expect(event.historyID > asOf && event.type == ChangeEvent.type)
            }
        }
        #expect(receiver.deliveries.allSatisfy { $0.signatureValid })
        #expect(
            receiver.acknowledged.filter { $0.kinds.first?.type == snapshotType }
                .allSatisfy { $0.webhookID.contains(":snapshot:\(asOf):") })
        #expect(try fixture.reader().integer("SELECT count(*) FROM outbox_backfills") == 0)
    }

    @Test("replay --sink against a running daemon: history since TIME again, replayed, same ids; others stay live")
    func replayWhileRunning() async throws {
        let fixture = try await Fixture(users: 100, changeProbability: 0.3)
        let replayed = try await WebhookReceiver(secrets: [WebhookDeliveryTests.secret])
        let other = try await WebhookReceiver(secrets: [WebhookDeliveryTests.secret])
        defer {
            Task {
                await replayed.stop()
                await other.stop()
                await fixture.simulator.stop()
            }
        }
        let endpoints = [fixture.endpoint("crm", replayed), fixture.endpoint("dash", other)]
        let (daemon, task) = Self.start(try fixture.configuration(endpoints, interval: 0.2), fixture)
        try await fixture.waitForCycles(4)
        let delivered = try fixture.eventIDs()
        #expect(await replayed.wait { _ in WebhookDeliveryTests.acknowledgedIDs(replayed).isSuperset(of: delivered) })
        let reader = try fixture.reader()
        let rows = try reader.integer("SELECT count(*) FROM presence_history")
        let since = try #require(
            try reader.connection.prepare("SELECT valid_from FROM presence_history ORDER BY id LIMIT 1 OFFSET ?1")
                .queryOne([.integer(Int64(rows / 2))]) { $0.text(0) } ?? nil)

        let config = try SimulatorSetup.writeConfig(fixture.document(endpoints), in: fixture.directory)
        let command = try ChildProcess(
            ["replay", "--sink", "crm", "--since", since, "--config", config], environment: [:])
        #expect(await command.waitForExit() == 0, "\(command.standardError)")
        let match = try #require(command.standardOutput.firstMatch(of: /history ids (\d+) through (\d+)/))
        let (first, through) = (try #require(Int64(match.1)), try #require(Int64(match.2)))
        let otherNewestBefore = other.acknowledged.flatMap(\.events).map(\.historyID).max() ?? 0

        var ids = Set<String>()
        let instance = try #require(delivered.first?.split(separator: ":").first.map(String.init))
        try reader.connection.prepare("SELECT id FROM presence_history WHERE id BETWEEN ?1 AND ?2")
            .query([.integer(first), .integer(through)]) { ids.insert("\(instance):\($0.int64(0))") }
        let expected = ids
        let replayedIDs: @Sendable () -> Set<String> = {
            Set(
                replayed.acknowledged.flatMap { delivery in
                    zip(delivery.events, delivery.kinds).filter(\.1.replayed).map(\.0.id)
                })
        }
        #expect(await replayed.wait { _ in replayedIDs() == expected })
        // Live events kept flowing to both endpoints after the request: the replay held nobody back.
        #expect(
            await other.wait { deliveries in
                deliveries.flatMap(\.events).contains { $0.historyID > max(through, otherNewestBefore) }
            })
        #expect(await replayed.wait { deliveries in deliveries.flatMap(\.events).contains { $0.historyID > through } })
        daemon.stop()
        try await task.value

        // Every replayed event had been delivered live before (the replay ends at the cursor of the request).
        let live = Set(
            replayed.acknowledged.flatMap { delivery in
                zip(delivery.events, delivery.kinds).filter { !$0.1.replayed }.map(\.0.id)
            })
        #expect(!expected.isEmpty && expected.isSubset(of: live))
        #expect(other.deliveries.allSatisfy { $0.kinds.allSatisfy { !$0.replayed } })
        // Each replayed event has the id it was first delivered with, in a request with a webhook-id of its own.
        let replays = replayed.acknowledged.filter { $0.kinds.contains { $0.replayed } }
        #expect(replays.allSatisfy { $0.webhookID.hasPrefix("\(instance):replay:") && $0.signatureValid })
        #expect(try fixture.reader().integer("SELECT count(*) FROM outbox_backfills") == 0)
    }

    @Test(
        "replay refuses an unknown sink and an unreadable time, naming them; with the daemon stopped the request waits")
    func replayCommandErrors() async throws {
        let directory = TemporaryDirectory()
        let database = directory.file("p.db")
        try Data(WebhookDeliveryTests.secret.utf8).write(to: URL(fileURLWithPath: directory.file("hook")))
        let store = try PresenceStore(path: database, logger: Self.logger)
        let changes = try await store.record(
            OutboxTests.observations(round: 0), observedAt: SinkStartTests.hoursAgo(2))
        try await store.advanceOutboxCursor(sink: "webhook:crm", through: changes[9].historyID)
        await store.close()
        let config = try OutboxCommandTests.writeConfig(database: database, endpoint: "crm", in: directory)

        let unknown = try ChildProcess(
            ["replay", "--sink", "nope", "--since", "3h", "--config", config], environment: [:])
        #expect(await unknown.waitForExit() == 64)
        #expect(
            unknown.standardError.contains("no sink named 'nope'") && unknown.standardError.contains("crm"))
        let badTime = try ChildProcess(
            ["replay", "--sink", "crm", "--since", "last tuesday", "--config", config], environment: [:])
        #expect(await badTime.waitForExit() != 0)
        #expect(badTime.standardError.contains("--since 'last tuesday' is not a time"))

        // With the daemon stopped the request waits in the file; `outbox status` shows it.
        let replay = try ChildProcess(
            ["replay", "--sink", "crm", "--since", "3h", "--config", config], environment: [:])
        #expect(await replay.waitForExit() == 0)
        #expect(replay.standardOutput.contains("replay of 10 events to webhook:crm recorded"))
        let status = try ChildProcess(["outbox", "status", "--config", config], environment: [:])
        #expect(await status.waitForExit() == 0)
        #expect(status.standardOutput.contains("replay since") && status.standardOutput.contains("0 of 10 events sent"))
        let reopened = try PresenceStore(path: database, logger: Self.logger)
        let pending = try #require(try await reopened.outboxBackfill(sink: "webhook:crm"))
        #expect(pending.kind == .replay && pending.through == changes[9].historyID)
        await reopened.close()
    }
}
