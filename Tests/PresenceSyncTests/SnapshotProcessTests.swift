import Foundation
import GraphSimulator
import PresenceSync
import TestSupport
import Testing

/// A snapshot with the real binary: kill -9 in the middle, then a restart resumes it.
@Suite("Snapshot with the real process", .serialized)
struct SnapshotProcessTests {
    @Test("kill -9 mid-snapshot: the restart resumes after the pages delivered, same ids, every user once")
    func killMidSnapshot() async throws {
        let (settings, simulator, receiver) = try await WebhookProcessTests.simulatorAndReceiver(users: 3_000)
        defer {
            Task {
                await receiver.stop()
                await simulator.stop()
            }
        }
        let directory = TemporaryDirectory()
        let database = directory.file("p.db")
        var document = SimulatorSetup.document(
            for: simulator, settings: settings, database: database, interval: 3600, batchSize: 500)
        document["events"] = ["stdout": false]
        let config = try SimulatorSetup.writeConfig(document, in: directory)
        let environment = WebhookProcessTests.environment(settings)
        // The history from before the endpoint existed.
        let first = try ChildProcess(["run", "--config", config, "--max-cycles", "1"], environment: environment)
        #expect(await first.waitForExit() == 0)
        // One lane, one event per request: slow enough to be killed after its first page and before its last.
        document["events"] = [
            "stdout": false,
            "webhooks": [
                [
                    "name": "late", "url": receiver.url, "secret": ["environment": "HOOK_SECRET"],
                    "startFrom": "snapshot", "maxConcurrentUsers": 1,
                ]
            ],
        ]
        _ = try SimulatorSetup.writeConfig(document, in: directory)
        let reader = try HistoryReader(path: database)
        let position = "SELECT coalesce((SELECT position FROM outbox_backfills WHERE sink = 'webhook:late'), 0)"
        let killed = try ChildProcess(["run", "--config", config], environment: environment)
        let deadline = ContinuousClock.now + .seconds(60)
        while (try? reader.integer(position)) ?? 0 == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        killed.send(SIGKILL)
        _ = await killed.waitForExit()
        let recorded = try reader.integer(position)
        #expect(recorded > 0, "killed after the first page was recorded")
        #expect(try reader.integer("SELECT count(*) FROM outbox_backfills") == 1, "killed before the last page")
        let beforeRestart = receiver.acknowledged.count

        let restarted = try ChildProcess(["run", "--config", config], environment: environment)
        let tracked = try reader.integer("SELECT count(DISTINCT user_id) FROM users WHERE tracking_stopped IS NULL")
        let snapshotType = ChangeEvent.snapshotType
        let complete = await receiver.wait(timeout: .seconds(90)) { deliveries in
            let ids = deliveries.filter { $0.status == 200 }.flatMap { delivery in
                zip(delivery.events, delivery.kinds).filter { $0.1.type == snapshotType }.map(\.0.id)
            }
            return Set(ids).count == tracked
        }
        restarted.send(SIGTERM)
        #expect(await restarted.waitForExit() == 0)
        #expect(complete && tracked == 3_000)

        var firstSnapshot: [String: Int] = [:]
        var snapshotDeliveries = 0
        var asOfs = Set<Substring>()
        for (index, delivery) in receiver.acknowledged.enumerated() {
            for (event, kind) in zip(delivery.events, delivery.kinds) {
                if kind.type == snapshotType {
                    snapshotDeliveries += 1
                    asOfs.insert(event.id.split(separator: ":").dropLast().last ?? "")
                    if firstSnapshot[event.subject] == nil { firstSnapshot[event.subject] = index }
                } else {
                    #expect(firstSnapshot[event.subject].map { $0 < index } == true, "change before snapshot")
                }
            }
        }
        // The same snapshot (one as-of id, so the same event ids) went on after its recorded pages: fewer events were
        // sent twice than had arrived before the kill (starting over would have sent all of those again).
        #expect(asOfs.count == 1 && firstSnapshot.count == tracked)
        #expect(beforeRestart > 0 && snapshotDeliveries - tracked < beforeRestart)
    }
}
