import Foundation
import GraphSimulator
import PresenceSync
import TestSupport
import Testing

@testable import PresenceSyncBenchmarks

/// The daemon in adaptive mode against the simulator over loopback, with a real SQLite file: what it records, how
/// it paces its requests and what it reports per sweep.
@Suite("Adaptive polling against the simulator", .serialized)
struct AdaptivePollingTests {
    /// A configuration for adaptive polling of `simulator`: half of 100 requests per 2 s, so 25 requests a second,
    /// 200 users each, five ticks a second.
    static func document(
        _ simulator: GraphSimulator, _ settings: SimulatorConfiguration, database: String, maxStalenessSeconds: Double
    ) -> [String: Any] {
        var document = SimulatorSetup.document(for: simulator, settings: settings, database: database)
        document["polling"] = [
            "mode": "adaptive", "budgetShare": 0.5, "requestBudget": 100, "budgetWindowSeconds": 2,
            "batchSize": 200, "maxStalenessSeconds": maxStalenessSeconds,
            // Slots to spare: with the suite running beside it a request can take longer than a tick (0.2 s).
            "maxConcurrentRequests": 8,
        ]
        return document
    }

    @Test(
        "history equals the served states; sweeps are recorded with requests, budget use and staleness; the share holds"
    )
    func sweepsAndHistory() async throws {
        let (simulator, settings) = try await DaemonIntegrationTests.startSimulator(
            users: 2_000, changeProbability: 0.05)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let database = directory.file("presence.db")
        let document = Self.document(simulator, settings, database: database, maxStalenessSeconds: 3)
        let sink = CollectingSink()
        try await Daemon(
            configuration: try SimulatorSetup.configuration(document),
            options: DaemonIntegrationTests.options(cycles: 5, sink: sink, secret: settings.clientSecret),
            logger: DaemonIntegrationTests.logger
        ).run()

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
        // Every sweep reports its stalest user. The bound itself (3 s) is latencyAndCoverage's check: here the
        // second sweep also carries the first one's 2,000 new rows and events, and in a busy suite it has measured
        // 5.6 s; a stall would show as far more.
        #expect(try reader.integer("SELECT count(*) FROM poll_cycles WHERE stalest_seconds BETWEEN 0 AND 9") == 5)
        // Every sweep observed every user at least once.
        #expect(try reader.integer("SELECT min(observed) FROM poll_cycles") >= 2_000)

        // The share holds where the requests arrive: at most 50 in any 2 s (measured 250 ms short of the window,
        // as in ThrottlingTests, for a loaded machine), and the pace is even, not bursts.
        let requests = simulator.presenceRequests.sorted { $0.arrivedAt < $1.arrivedAt }
        for (index, first) in requests.enumerated() {
            let inWindow = requests[index...].prefix { $0.arrivedAt < first.arrivedAt + .milliseconds(1750) }
            #expect(inWindow.count <= 50, "\(inWindow.count) requests within 2 s")
        }
        // Paced, not stalled: from the first request to the last, at least 5 a second of the 25 (the machine may be
        // busy with the rest of the suite).
        if let first = requests.first, let last = requests.last {
            let span = last.arrivedAt - first.arrivedAt
            let seconds = Double(span.components.seconds) + Double(span.components.attoseconds) / 1e18
            #expect(Double(requests.count - 1) / seconds > 5, "\(requests.count) requests in \(seconds) s")
        }
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

    @Test(
        "a working day 60× faster: changes are seen within a second at the median, none missed often, no user past the bound"
    )
    func latencyAndCoverage() async throws {
        var settings = SimulatorConfiguration()
        settings.userCount = 3_000
        settings.seed = UInt64.random(in: 1...1_000_000)
        // 10:00 in simulated time, one simulated minute per second: meetings, calls, Away and back.
        settings.workday = WorkdaySimulation(timeCompression: 60, startTimeOfDay: 10 * 3600)
        let simulator = GraphSimulator(configuration: settings)
        _ = try await simulator.start()
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let database = directory.file("presence.db")
        // 3,000 users: each about every 0.6 s on average, every one within 2 s.
        let document = Self.document(simulator, settings, database: database, maxStalenessSeconds: 2)
        var options = Daemon.Options()
        options.environment = [SimulatorSetup.secretVariable: settings.clientSecret]
        let daemon = Daemon(
            configuration: try SimulatorSetup.configuration(document), options: options,
            logger: DaemonIntegrationTests.logger)
        let run = Task { try await daemon.run() }
        // The first sweep (everyone's initial state) takes 0.6 s; measure the changes of the 8 s after it.
        try await Task.sleep(for: .seconds(1))
        simulator.resetUnservedGaps()
        let windowStart = Timestamp.now().millisecondsSinceEpoch
        try await Task.sleep(for: .seconds(8))
        let windowEnd = Timestamp.now().millisecondsSinceEpoch
        try await Task.sleep(for: .seconds(2))  // the bound: late changes of the window get their chance
        let gap = simulator.longestUnservedGap()
        daemon.stop()
        try await run.value

        let result = try LatencyMatch.measure(
            changes: simulator.realChanges(), database: database, window: windowStart...windowEnd)
        #expect(result.changes > 500, "the working day must change presence: \(result.changes) changes")
        #expect(result.unmatchedRows == 0, "every history row is a state the simulator really had")
        #expect(result.p50 <= 1, "median detection latency \(result.p50) s")
        #expect(result.max <= 3, "slowest detection \(result.max) s (bound 2 s plus an answer)")
        #expect(result.observedShare >= 0.8, "observed \(result.observed) of \(result.changes) changes")
        // No user went unobserved past the bound (with 0.5 s for a loaded machine's late answers).
        #expect((gap?.seconds ?? 99) <= 2.5, "user \(gap?.userID ?? "?") unobserved for \(gap?.seconds ?? -1) s")
        _ = directory
    }
}
