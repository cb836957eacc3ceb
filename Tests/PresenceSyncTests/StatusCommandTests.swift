import Foundation
import GraphSimulator
import PresenceSync
import TestSupport
import Testing

/// `presence-sync status` against a database a real daemon run filled.
@Suite("status command", .serialized)
struct StatusCommandTests {
    @Test("text and JSON summaries: users tracked, last cycle, changes in the last hour, outbox backlog")
    func status() async throws {
        let (simulator, settings) = try await DaemonProcessTests.startSimulator(users: 30, changeProbability: 0.3)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let database = directory.file("p.db")
        let document = SimulatorSetup.document(
            for: simulator, settings: settings, database: database, interval: 0.1, batchSize: 10)
        let config = try SimulatorSetup.writeConfig(document, in: directory)
        let daemon = try ChildProcess(
            ["run", "--config", config, "--max-cycles", "3"],
            environment: DaemonProcessTests.environment(secret: settings.clientSecret))
        #expect(await daemon.waitForExit() == 0)

        let reader = try HistoryReader(path: database)
        let changes = try reader.integer("SELECT sum(changes) FROM poll_cycles")
        let text = try ChildProcess(["status", "--db", database])
        #expect(await text.waitForExit() == 0)
        #expect(text.standardOutput.contains("users tracked:   30\n"))
        #expect(text.standardOutput.contains("30 of 30 users observed"))
        #expect(text.standardOutput.contains("last hour:       3 cycles, \(changes) changes"))

        let json = try ChildProcess(["status", "--db", database, "--json"])
        #expect(await json.waitForExit() == 0)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        #expect(object["usersTracked"] as? Int == 30)
        #expect(object["changesLastHour"] as? Int == changes)
        #expect(object["cyclesLastHour"] as? Int == 3)
        let lastCycle = try #require(object["lastCycle"] as? [String: Any])
        #expect(lastCycle["observed"] as? Int == 30)
        if let backlog = object["backlog"] as? [[String: Any]] {
            #expect(backlog.allSatisfy { $0["pending"] as? Int == 0 }, "the daemon drains its outbox on exit")
        }
    }

    @Test("a missing file is a clear error")
    func missing() async throws {
        let directory = TemporaryDirectory()
        let status = try ChildProcess(["status", "--db", directory.file("absent.db")])
        #expect(await status.waitForExit() == 1)
        #expect(status.standardError.contains("absent.db"))
        #expect(status.standardError.contains("no such file"))
    }
}
