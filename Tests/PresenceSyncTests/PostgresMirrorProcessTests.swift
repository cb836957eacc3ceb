import Foundation
import GraphSimulator
import PresenceSync
import TestSupport
import Testing

/// The PostgreSQL mirror in the real daemon process: kill -9 while it mirrors, and a server that goes away while
/// the daemon keeps polling.
@Suite("PostgreSQL mirror with the real process", .serialized)
struct PostgresMirrorProcessTests {
    /// A simulator of 1,000 changing users, a server, and a config that polls every 0.25 s into `p.db`, mirrors to
    /// the server (password from the environment) and writes events to standard output.
    struct Setup {
        let simulator: GraphSimulator
        let settings: SimulatorConfiguration
        let fixture: PostgresMirrorTests.Fixture
        let directory = TemporaryDirectory()
        let database: String
        let config: String
        /// The same config polling once an hour: after its first cycle the history stops growing.
        let drainConfig: String
        let environment: [String: String]
        let tenant: String

        init() async throws {
            var settings = SimulatorConfiguration()
            settings.userCount = 1_000
            settings.changeProbability = 0.3
            settings.seed = UInt64.random(in: 1...1_000_000)
            self.settings = settings
            simulator = GraphSimulator(configuration: settings)
            _ = try await simulator.start()
            fixture = try PostgresMirrorTests.Fixture()
            database = directory.file("p.db")
            var document = SimulatorSetup.document(
                for: simulator, settings: settings, database: database, interval: 0.25, batchSize: 250)
            tenant = document["tenantId"] as? String ?? ""
            document["logLevel"] = "info"
            document["events"] = [
                "stdout": true,
                "postgresql": [
                    [
                        "name": "warehouse", "url": fixture.settings.url,
                        "password": ["environment": "MIRROR_PASSWORD"], "retryMaxSeconds": 0.5,
                    ]
                ],
            ]
            document["polling"] = ["intervalSeconds": 3600, "batchSize": 250]
            document["logLevel"] = "info"
            var drainEvents = document["events"] as? [String: Any] ?? [:]
            drainEvents["stdout"] = false
            document["events"] = drainEvents
            drainConfig = directory.file("drain.json")
            try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: drainConfig))
            document["polling"] = ["intervalSeconds": 0.25, "batchSize": 250]
            document["logLevel"] = "info"
            drainEvents["stdout"] = true
            document["events"] = drainEvents
            config = try SimulatorSetup.writeConfig(document, in: directory)
            var environment = ProcessInfo.processInfo.environment
            environment[SimulatorSetup.secretVariable] = settings.clientSecret
            environment["MIRROR_PASSWORD"] = try String(contentsOfFile: fixture.passwordFile, encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            self.environment = environment
        }

        /// Rows mirrored so far (0 before the daemon created its tables).
        func mirrored() -> Int { (try? fixture.history(tenant: tenant).count) ?? 0 }

        /// Runs the daemon for one more cycle, then until the mirror holds every SQLite row; stops it (SIGTERM).
        func drain() async throws -> Bool {
            let drainer = try ChildProcess(["run", "--config", drainConfig], environment: environment)
            #expect(
                await drainer.waitForStandardError("cycle finished", count: 1), "\(drainer.standardError.suffix(1500))")
            let expected = try MirrorComparison.sqliteHistory(database).count
            _ = await eventually { mirrored() >= expected }
            drainer.send(SIGTERM)
            #expect(await drainer.waitForExit() == 0)
            return mirrored() >= expected
        }
    }

    @Test("kill -9 while mirroring, then restarts: PostgreSQL's history equals SQLite's row for row")
    func killWhileMirroring() async throws {
        let setup = try await Setup()
        defer { Task { await setup.simulator.stop() } }
        for round in 1...3 {
            let daemon = try ChildProcess(["run", "--config", setup.config], environment: setup.environment)
            let floor = setup.mirrored()
            _ = await eventually { setup.mirrored() >= floor + 200 * round }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...200)))
            daemon.send(SIGKILL)
            _ = await daemon.waitForExit()
        }
        // The rows are compared while no daemon runs: one more cycle, then everything mirrored, then stopped.
        #expect(try await setup.drain())
        let sqlite = try MirrorComparison.sqliteHistory(setup.database)
        #expect(sqlite.count > 1_000)
        let mirrored = try setup.fixture.history(tenant: setup.tenant)
        #expect(mirrored == sqlite, "\(MirrorComparison.difference(mirrored, sqlite))")
        #expect(try setup.fixture.current(tenant: setup.tenant) == MirrorComparison.sqliteCurrent(setup.database))
    }

    @Test("PostgreSQL down for a while: polling and stdout go on, the backlog waits and drains when it is back")
    func serverDownWhilePolling() async throws {
        let setup = try await Setup()
        defer { Task { await setup.simulator.stop() } }
        let daemon = try ChildProcess(["run", "--config", setup.config], environment: setup.environment)
        _ = await eventually { setup.mirrored() > 0 }
        try setup.fixture.server.stop()
        let reader = try HistoryReader(path: setup.database)
        let cyclesBefore = try reader.integer("SELECT count(*) FROM poll_cycles")
        let eventsBefore = daemon.outputLines.count
        #expect(await daemon.waitForStandardError("PostgreSQL mirror failed", count: 2))
        // Polling is not held back: cycles are recorded and events reach standard output while the server is down.
        let polled = await eventually {
            (try? reader.integer("SELECT count(*) FROM poll_cycles")) ?? 0 >= cyclesBefore + 10
                && daemon.outputLines.count > eventsBefore + 100
        }
        #expect(polled)
        let backlog = try reader.integer(
            """
            SELECT count(*) FROM presence_history
            WHERE id > coalesce((SELECT delivered_through FROM outbox_cursors WHERE sink = 'postgresql:warehouse'), 0)
            """)
        #expect(backlog > 0, "changes wait in the history")
        #expect(daemon.standardError.contains("sink=postgresql:warehouse"))
        #expect(!daemon.standardError.contains(setup.environment["MIRROR_PASSWORD"] ?? "\u{1}"))
        try setup.fixture.server.start()
        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
        #expect(try await setup.drain())
        let mirrored = try setup.fixture.history(tenant: setup.tenant)
        let sqlite = try MirrorComparison.sqliteHistory(setup.database)
        #expect(mirrored == sqlite, "\(MirrorComparison.difference(mirrored, sqlite))")
    }
}
