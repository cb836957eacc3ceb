import Foundation
import GraphSimulator
import PresenceSync
import TestSupport
import Testing

/// The real `presence-sync` binary as a child process: exit codes, signals, kill -9 and restart.
@Suite("presence-sync process", .serialized)
struct DaemonProcessTests {
    static func environment(secret: String) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment[SimulatorSetup.secretVariable] = secret
        return environment
    }

    static func startSimulator(users: Int, changeProbability: Double) async throws -> (
        GraphSimulator, SimulatorConfiguration
    ) {
        var settings = SimulatorConfiguration()
        settings.userCount = users
        settings.changeProbability = changeProbability
        settings.recordServedStates = true
        settings.seed = UInt64.random(in: 1...1_000_000)
        let simulator = GraphSimulator(configuration: settings)
        _ = try await simulator.start()
        return (simulator, settings)
    }

    @Test("SIGTERM finishes the batch in flight, flushes events and exits 0; stdout holds exactly the events")
    func sigterm() async throws {
        let (simulator, settings) = try await Self.startSimulator(users: 300, changeProbability: 0.3)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        var document = SimulatorSetup.document(
            for: simulator, settings: settings, database: directory.file("p.db"), interval: 0.1, batchSize: 50)
        document["events"] = ["stdout": true]
        document["logLevel"] = "info"
        let config = try SimulatorSetup.writeConfig(document, in: directory)
        let daemon = try ChildProcess(
            ["run", "--config", config], environment: Self.environment(secret: settings.clientSecret))
        #expect(await daemon.waitForStandardError("cycle finished", count: 3))
        daemon.send(SIGTERM)
        let status = await daemon.waitForExit()
        #expect(status == 0)
        #expect(!daemon.terminatedBySignal)
        #expect(daemon.standardError.contains("presence-sync stopped"))

        let reader = try HistoryReader(path: directory.file("p.db"))
        let rows = try reader.integer("SELECT count(*) FROM presence_history")
        let lines = daemon.outputLines
        #expect(lines.count == rows, "every stored change has its event line, and stdout holds nothing else")
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["specversion"] as? String == "1.0")
        }
        #expect(try reader.invariantViolations() == [])
        #expect(!daemon.standardError.contains(settings.clientSecret))
    }

    @Test("kill -9 mid-run, then a restart: nothing stored is lost or duplicated, and polling continues")
    func killAndRestart() async throws {
        let (simulator, settings) = try await Self.startSimulator(users: 2_000, changeProbability: 0.2)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let database = directory.file("p.db")
        var document = SimulatorSetup.document(
            for: simulator, settings: settings, database: database, interval: 0.1, batchSize: 100)
        document["logLevel"] = "info"
        let config = try SimulatorSetup.writeConfig(document, in: directory)
        let environment = Self.environment(secret: settings.clientSecret)

        var before: [String: [PresenceState]] = [:]
        for round in 0..<3 {
            let daemon = try ChildProcess(["run", "--config", config], environment: environment)
            #expect(await daemon.waitForStandardError("cycle finished", count: 2))
            // Kill at a random moment of a later cycle, while batches are being written.
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...150)))
            daemon.send(SIGKILL)
            _ = await daemon.waitForExit()
            #expect(daemon.terminatedBySignal, "round \(round): the daemon must die by SIGKILL")

            let reader = try HistoryReader(path: database)
            #expect(try reader.invariantViolations() == [], "round \(round)")
            for user in simulator.userIDs {
                let recorded = try reader.states(of: user)
                let previous = before[user] ?? []
                #expect(Array(recorded.prefix(previous.count)) == previous, "round \(round): \(user) lost history")
                let served = SimulatorSetup.distinctStates(simulator.servedStates(for: user))
                #expect(Self.isSubsequence(recorded, of: served), "round \(round): \(user) recorded unserved states")
                before[user] = recorded
            }
        }
        // A final clean run picks up where the killed ones stopped.
        let daemon = try ChildProcess(["run", "--config", config, "--max-cycles", "2"], environment: environment)
        #expect(await daemon.waitForExit() == 0)
        let reader = try HistoryReader(path: database)
        #expect(try reader.invariantViolations() == [])
        #expect(try reader.integer("SELECT count(*) FROM presence_current") == 2_000)
    }

    /// True when `part` appears in `whole` in order (a daemon killed before committing misses some states).
    static func isSubsequence(_ part: [PresenceState], of whole: [PresenceState]) -> Bool {
        var index = whole.startIndex
        for element in part {
            guard let found = whole[index...].firstIndex(of: element) else { return false }
            index = whole.index(after: found)
        }
        return true
    }

    @Test("a bad config exits with status 78 and a message naming the key")
    func badConfig() async throws {
        let directory = TemporaryDirectory()
        let config = directory.write(
            "config.json",
            """
            {"tenantId": "t", "clientId": "11111111-2222-3333-4444-555555555555",
             "credential": {"environment": "X"}, "users": ["00000000-0000-4000-8000-00000000a11c"],
             "polling": {"batchSize": 1000}}
            """)
        for command in ["run", "check-config"] {
            let process = try ChildProcess([command, "--config", config])
            #expect(await process.waitForExit() == 78)
            #expect(process.standardError.contains("polling.batchSize"))
            #expect(process.standardError.contains("1000 is out of range 1...650"))
            #expect(process.standardOutput.isEmpty)
        }
        let missing = try ChildProcess(["run", "--config", directory.file("nope.json")])
        #expect(await missing.waitForExit() == 78)
        #expect(missing.standardError.contains("nope.json"))
    }

    @Test("check-config accepts a good config and reports a missing secret without exposing anything")
    func checkConfig() async throws {
        let directory = TemporaryDirectory()
        let secret = directory.write("secret", "very-secret-value\n")
        let good = directory.write(
            "good.json",
            """
            {"tenantId": "t", "clientId": "11111111-2222-3333-4444-555555555555",
             "credential": {"file": "\(secret)"}, "users": ["00000000-0000-4000-8000-00000000a11c"]}
            """)
        let ok = try ChildProcess(["check-config", "--config", good])
        #expect(await ok.waitForExit() == 0)
        #expect(ok.standardOutput.contains("configuration is valid"))
        #expect(!ok.standardOutput.contains("very-secret-value"))
        let noSecret = directory.write(
            "bad.json",
            """
            {"tenantId": "t", "clientId": "11111111-2222-3333-4444-555555555555",
             "credential": {"file": "\(directory.file("absent"))"}, "users": ["00000000-0000-4000-8000-00000000a11c"]}
            """)
        let bad = try ChildProcess(["check-config", "--config", noSecret])
        #expect(await bad.waitForExit() == 78)
        #expect(bad.standardError.contains("does not exist"))
    }
}
