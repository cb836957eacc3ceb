import ArgumentParser
import Foundation
import GraphSimulator
import Logging
import PresenceSync

/// `presence-sync simulate`: the simulated tenant on its own, for a daemon (or any tool) to point at.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Serve a simulated tenant (Entra token endpoint + Graph presence) on loopback until Ctrl-C.",
        discussion: """
            Example: presence-sync simulate --port 8400 --users 1000 --write-config /tmp/sim.json
            then:    presence-sync run --config /tmp/sim.json

            By default a user's presence changes only when polled (--change-rate per poll). With --workday it follows \
            a working day in compressed time instead: arrivals from 08:00, meetings on the hour and the half hour, \
            calls and breaks between them, everybody offline at night; polls then see whatever changed meanwhile.
            """
    )

    @Option(help: "TCP port on 127.0.0.1 (0: any free port).") var port = 8400
    @Option(help: "Simulated users.") var users = 1000
    @Option(help: "Chance that a user's presence changes between two polls (0...1).") var changeRate = 0.1
    @Option(help: "Seed for users and their presence sequences.") var seed: UInt64 = 42
    @Option(help: "Write a daemon configuration for this tenant to this file (secret in a 0600 file beside it).")
    var writeConfig: String?
    @Option(help: "Database path to put in the written configuration.") var database = "presence.db"
    @Option(help: "Poll interval to put in the written configuration, in seconds.") var interval = 10.0
    @Option(help: "A PEM certificate to register on the simulated app (repeatable); its key may sign in.")
    var clientCertificate: [String] = []
    @Flag(help: "Let presence follow a working day in compressed time instead of changing per poll.")
    var workday = false
    @Option(help: "With --workday (implies it): simulated seconds per real second (default 20).")
    var timeCompression: Double?
    @Option(help: "With --workday (implies it): simulated time of day at start, HH:MM (default 08:45).")
    var startTime: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be within 0...65535") }
        guard (1...1_000_000).contains(users) else { throw ValidationError("--users must be within 1...1000000") }
        guard (0...1).contains(changeRate) else { throw ValidationError("--change-rate must be within 0...1") }
        if let timeCompression, !(timeCompression > 0 && timeCompression <= 1_000_000) {
            throw ValidationError("--time-compression must be within 0...1000000 (and above 0)")
        }
        if let startTime, TimeText.secondsAfterMidnight(startTime) == nil {
            throw ValidationError("--start-time must be HH:MM within 00:00...23:59")
        }
    }

    func run() async throws {
        let signals = ShutdownSignals()
        let logger = bootstrapLogging(level: .info)
        var settings = SimulatorConfiguration()
        settings.port = port
        settings.userCount = users
        settings.changeProbability = changeRate
        settings.seed = seed
        settings.workday = workdaySimulation
        settings.clientCertificates = try clientCertificate.map { path in
            do {
                return try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ValidationError("--client-certificate \(path) cannot be read")
            }
        }
        let simulator = GraphSimulator(configuration: settings, logger: logger)
        let bound = try await simulator.start()
        if let writeConfig { try write(configPath: writeConfig, simulator: simulator, settings: settings) }
        // The first line on stdout is machine-readable, so scripts (and the benchmark) can find the port.
        FileHandle.standardOutput.write(Data("listening on \(simulator.baseURL) port \(bound)\n".utf8))
        logger.info(
            "simulated tenant ready",
            metadata: [
                "url": "\(simulator.baseURL)", "users": "\(users)", "tenant": "\(settings.tenantID)",
                "client": "\(settings.clientID)",
                "presence": "\(settings.workday.map { "workday, \($0.timeCompression)x" } ?? "per poll")",
            ])
        _ = await signals.wait()
        await simulator.stop()
    }

    /// The workday model the options ask for, nil when none does. Nothing out of process can read the record of
    /// real changes, so it is not kept: a long-running simulator would only grow.
    private var workdaySimulation: WorkdaySimulation? {
        guard workday || timeCompression != nil || startTime != nil else { return nil }
        var model = WorkdaySimulation()
        model.recordChanges = false
        if let timeCompression { model.timeCompression = timeCompression }
        if let start = startTime.flatMap(TimeText.secondsAfterMidnight) { model.startTimeOfDay = start }
        return model
    }

    private func write(configPath: String, simulator: GraphSimulator, settings: SimulatorConfiguration) throws {
        let secretPath = configPath + ".secret"
        _ = FileManager.default.createFile(
            atPath: secretPath, contents: Data(settings.clientSecret.utf8), attributes: [.posixPermissions: 0o600])
        let usersPath = configPath + ".users"
        try simulator.userIDs.joined(separator: "\n").write(toFile: usersPath, atomically: true, encoding: .utf8)
        let document: [String: Any] = [
            "tenantId": settings.tenantID, "clientId": settings.clientID,
            "credential": ["file": (secretPath as NSString).lastPathComponent],
            "authorityHost": simulator.baseURL, "graphBaseURL": simulator.baseURL,
            "usersFile": (usersPath as NSString).lastPathComponent, "database": database,
            "polling": ["intervalSeconds": interval],
        ]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: configPath))
    }
}
