import ArgumentParser
import Foundation
import GraphSimulator
import Logging
import PresenceSync

/// `presence-sync demo`: the simulated tenant and the daemon together, no Microsoft account needed.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the daemon against a built-in simulated tenant and print change events until Ctrl-C.",
        discussion: """
            By default the daemon polls adaptively (a request every 200 ms, the likeliest changers first) a tenant
            whose users live a working day 60 times faster than the clock: meetings on the hour and half hour, calls,
            Away and back. Changes appear within a second.
            Examples: presence-sync demo --users 200
                      presence-sync demo --mode fixed --interval 2 --change-rate 0.2
            """
    )

    @Option(help: "Simulated users.") var users = 25
    @Option(help: "Polling mode: adaptive (continuous, likeliest changers first) or fixed (cycles on --interval).")
    var mode: String = PollingMode.adaptive.rawValue
    @Option(help: "Adaptive: share of Graph's request budget (1,500 per 30 s) to use.") var budgetShare = 0.1
    @Option(help: "Adaptive: simulated seconds per real second of the working day.") var timeCompression = 60.0
    @Option(help: "Fixed: seconds between poll cycles.") var interval = 3.0
    @Option(help: "Fixed: chance that a user's presence changes between two polls (0...1).") var changeRate = 0.2
    @Option(help: "Keep the database at this path instead of a temporary file.") var database: String?
    @Option(help: "Stop after this many cycles (sweeps in adaptive mode).") var maxCycles: Int?

    func validate() throws {
        guard (1...100_000).contains(users) else { throw ValidationError("--users must be within 1...100000") }
        guard PollingMode(rawValue: mode) != nil else { throw ValidationError("--mode must be adaptive or fixed") }
        guard (0.01...1).contains(budgetShare) else { throw ValidationError("--budget-share must be within 0.01...1") }
        guard timeCompression > 0 && timeCompression <= 100_000 else {
            throw ValidationError("--time-compression must be within 0...100000 (and above 0)")
        }
        guard interval >= 0.1 else { throw ValidationError("--interval must be at least 0.1 seconds") }
        guard (0...1).contains(changeRate) else { throw ValidationError("--change-rate must be within 0...1") }
    }

    func run() async throws {
        MemoryTuning.limitMallocArenas()
        let signals = ShutdownSignals()
        let logger = bootstrapLogging(level: .info)
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.userCount = users
        simulatorConfiguration.changeProbability = changeRate
        simulatorConfiguration.seed = UInt64.random(in: 1...UInt64.max)
        let adaptive = mode == PollingMode.adaptive.rawValue
        if adaptive {
            // Presence that lives in time, not per poll (adaptive polling polls far more often than it changes);
            // 09:55, so that the first meetings start a few seconds in. No record of changes: nobody reads it.
            simulatorConfiguration.workday = WorkdaySimulation(
                timeCompression: timeCompression, startTimeOfDay: 9 * 3600 + 55 * 60, recordChanges: false)
        }
        let simulator = GraphSimulator(configuration: simulatorConfiguration, logger: logger)
        _ = try await simulator.start()

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("presence-sync-demo-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let databasePath = database ?? directory.appendingPathComponent("presence.db").path
        let document: [String: Any] = [
            "tenantId": simulatorConfiguration.tenantID,
            "clientId": simulatorConfiguration.clientID,
            "credential": ["environment": "PRESENCE_SYNC_DEMO_SECRET"],
            "authorityHost": simulator.baseURL,
            "graphBaseURL": simulator.baseURL,
            "users": simulator.userIDs,
            "database": databasePath,
            "polling": ["mode": mode, "budgetShare": budgetShare, "intervalSeconds": interval],
        ]
        let configuration = try Configuration.parse(JSONSerialization.data(withJSONObject: document))
        var options = Daemon.Options(maxCycles: maxCycles)
        options.environment["PRESENCE_SYNC_DEMO_SECRET"] = simulatorConfiguration.clientSecret
        logger.info(
            """
            demo: simulated tenant at \(simulator.baseURL) with \(users) users \
            (\(adaptive ? "a working day \(timeCompression)× faster, polled adaptively" : "polled every \(interval) s")); \
            database \(databasePath); change events follow on stdout, one JSON line each. Ctrl-C stops.
            """)
        logger.info("demo: while it runs, try: sqlite3 \(databasePath) 'SELECT * FROM presence_current LIMIT 5'")
        try await Daemon(configuration: configuration, options: options, logger: logger).run(signals: signals)
        await simulator.stop()
        if database == nil { try? FileManager.default.removeItem(at: directory) }
    }
}
