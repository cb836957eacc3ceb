import Foundation
import GraphSimulator
import PresenceSync
import TestSupport
import Testing

/// The outbox with the real binary: a kill -9 between commit and write re-emits instead of losing.
@Suite("Outbox with the real process", .serialized)
struct OutboxProcessTests {
    @Test("kill -9 during delivery, then restarts: every stored change reaches stdout, duplicates keep their id")
    func killedDuringDelivery() async throws {
        var settings = SimulatorConfiguration()
        settings.userCount = 2_000
        settings.changeProbability = 0.3
        settings.seed = UInt64.random(in: 1...1_000_000)
        let simulator = GraphSimulator(configuration: settings)
        _ = try await simulator.start()
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let database = directory.file("p.db")
        var document = SimulatorSetup.document(
            for: simulator, settings: settings, database: database, interval: 0.1, batchSize: 100)
        document["events"] = ["stdout": true]
        document["logLevel"] = "info"
        let config = try SimulatorSetup.writeConfig(document, in: directory)
        var environment = ProcessInfo.processInfo.environment
        environment[SimulatorSetup.secretVariable] = settings.clientSecret

        var lines: [String] = []
        for _ in 0..<3 {
            let daemon = try ChildProcess(["run", "--config", config], environment: environment)
            #expect(await daemon.waitForStandardError("cycle finished", count: 2))
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...150)))
            daemon.send(SIGKILL)
            _ = await daemon.waitForExit()
            lines += daemon.outputLines
        }
        let daemon = try ChildProcess(["run", "--config", config, "--max-cycles", "1"], environment: environment)
        #expect(await daemon.waitForExit() == 0)
        lines += daemon.outputLines

        var ids: [String] = []
        for line in lines {
            // A kill can cut the last line of a run in half; a complete copy of it follows after the restart.
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let id = object["id"] as? String
            else { continue }
            ids.append(id)
        }
        let reader = try HistoryReader(path: database)
        let instance = try #require(
            try reader.connection.prepare("SELECT value FROM store_info WHERE key = 'instance_id'").queryOne {
                $0.text(0)
            }
                ?? nil)
        var expected = Set<String>()
        try reader.connection.prepare("SELECT id FROM presence_history").query {
            expected.insert("\(instance):\($0.int64(0))")
        }
        #expect(expected.count > 2_000)
        #expect(Set(ids) == expected, "every history row's event was emitted, and no other")
        #expect(
            try reader.integer("SELECT delivered_through FROM outbox_cursors WHERE sink = 'stdout'")
                == reader.integer("SELECT max(id) FROM presence_history"))
    }
}
