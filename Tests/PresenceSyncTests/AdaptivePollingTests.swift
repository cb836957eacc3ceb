import Foundation
import GraphSimulator
import PresenceSync
import TestSupport
import Testing

/// The daemon in adaptive mode against the simulator over loopback, with a real SQLite file: what it records, how
/// it paces its requests and what it reports per sweep.
@Suite("Adaptive polling against the simulator", .serialized)
struct AdaptivePollingTests {
    @Test(
        "history equals the served states; sweeps are recorded with requests, budget use and staleness; the share holds"
    )
    func sweepsAndHistory() async throws {
        let (simulator, settings) = try await DaemonIntegrationTests.startSimulator(
            users: 2_000, changeProbability: 0.05)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let database = directory.file("presence.db")
        var document = SimulatorSetup.document(for: simulator, settings: settings, database: database)
        // Half of 100 requests per 2 s: 25 requests a second, 200 users each; every user within 3 s.
        document["polling"] = [
            "mode": "adaptive", "budgetShare": 0.5, "requestBudget": 100, "budgetWindowSeconds": 2,
            "batchSize": 200, "maxStalenessSeconds": 3,
        ]
        let sink = CollectingSink()
        let started = ContinuousClock.now
        try await Daemon(
            configuration: try SimulatorSetup.configuration(document),
            options: DaemonIntegrationTests.options(cycles: 5, sink: sink, secret: settings.clientSecret),
            logger: DaemonIntegrationTests.logger
        ).run()
        let elapsed = ContinuousClock.now - started

        let reader = try HistoryReader(path: database)
        var rows = 0
        for user in simulator.userIDs {
            let recorded = try reader.states(of: user)
            #expect(recorded == SimulatorSetup.distinctStates(simulator.servedStates(for: user)))
            rows += recorded.count
        }
        #expect(sink.events.count == rows)
        #expect(try reader.invariantViolations() == [])
        #expect(try reader.integer("SELECT count(*) FROM poll_cycles WHERE sweep = 1") == 5)
        #expect(try reader.integer("SELECT min(users) FROM poll_cycles") == 2_000)
        #expect(try reader.integer("SELECT count(*) FROM poll_cycles WHERE requests > 0 AND budget_use > 0") == 5)
        #expect(try reader.integer("SELECT count(*) FROM poll_cycles WHERE stalest_seconds <= 3") == 5)
        // Every sweep observed every user at least once.
        #expect(try reader.integer("SELECT min(observed) FROM poll_cycles") >= 2_000)

        // The share holds where the requests arrive: at most 50 in any 2 s (measured 250 ms short of the window,
        // as in ThrottlingTests, for a loaded machine), and the pace is even, not bursts.
        let requests = simulator.presenceRequests.sorted { $0.arrivedAt < $1.arrivedAt }
        for (index, first) in requests.enumerated() {
            let inWindow = requests[index...].prefix { $0.arrivedAt < first.arrivedAt + .milliseconds(1750) }
            #expect(inWindow.count <= 50, "\(inWindow.count) requests within 2 s")
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        #expect(Double(requests.count) / seconds > 10, "\(requests.count) requests in \(seconds) s")
        _ = directory
    }

    @Test("a reload switches a running daemon from fixed cycles to adaptive polling and back")
    func reloadSwitchesMode() async throws {
        let (simulator, settings) = try await DaemonIntegrationTests.startSimulator(users: 300, changeProbability: 0.1)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let database = directory.file("presence.db")
        var document = SimulatorSetup.document(for: simulator, settings: settings, database: database)
        document["polling"] = ["mode": "fixed", "intervalSeconds": 3600, "batchSize": 100]
        let file = try SimulatorSetup.writeConfig(document, in: directory)
        var options = DaemonIntegrationTests.options(
            cycles: 1_000, sink: CollectingSink(), secret: settings.clientSecret)
        options.configurationFile = file
        let daemon = Daemon(
            configuration: try Configuration.load(file: file, environment: options.environment), options: options,
            logger: DaemonIntegrationTests.logger)
        let run = Task { try await daemon.run() }
        // Fixed: one cycle, then an hour's wait.
        #expect(await HistoryReader.eventually(database) { try $0.integer("SELECT count(*) FROM poll_cycles") == 1 })
        let fixedRequests = simulator.presenceRequests.count
        #expect(fixedRequests == 3)
        document["polling"] = [
            "mode": "adaptive", "budgetShare": 0.5, "requestBudget": 40, "budgetWindowSeconds": 2, "batchSize": 100,
            "maxStalenessSeconds": 2, "intervalSeconds": 3600,
        ]
        _ = try SimulatorSetup.writeConfig(document, in: directory)
        daemon.reload()
        #expect(
            await HistoryReader.eventually(database) {
                try $0.integer("SELECT count(*) FROM poll_cycles WHERE stalest_seconds IS NOT NULL") >= 2
            })
        #expect(simulator.presenceRequests.count > fixedRequests + 6)
        document["polling"] = ["mode": "fixed", "intervalSeconds": 3600, "batchSize": 100]
        _ = try SimulatorSetup.writeConfig(document, in: directory)
        daemon.reload()
        // Back to fixed: one cycle at once, then nothing more for an hour.
        #expect(
            await HistoryReader.eventually(database) {
                try $0.integer(
                    """
                    SELECT count(*) FROM poll_cycles WHERE stalest_seconds IS NULL
                    AND id > (SELECT max(id) FROM poll_cycles WHERE stalest_seconds IS NOT NULL)
                    """) == 1
            })
        daemon.stop()
        try await run.value
        _ = directory
    }
}
