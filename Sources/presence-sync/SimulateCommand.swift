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

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be within 0...65535") }
        guard (1...1_000_000).contains(users) else { throw ValidationError("--users must be within 1...1000000") }
        guard (0...1).contains(changeRate) else { throw ValidationError("--change-rate must be within 0...1") }
    }

    func run() async throws {
        let signals = ShutdownSignals()
        let logger = bootstrapLogging(level: .info)
        var settings = SimulatorConfiguration()
        settings.port = port
        settings.userCount = users
        settings.changeProbability = changeRate
        settings.seed = seed
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
            ])
        _ = await signals.wait()
        await simulator.stop()
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
