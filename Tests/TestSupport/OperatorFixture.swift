import Foundation
import GraphSimulator
import Logging
import PresenceSync

/// What a run of the `presence-sync` binary produced.
public struct CommandResult: Sendable {
    public var status: Int32?
    public var standardOutput: String
    public var standardError: String

    /// Standard output parsed as a JSON array of objects (empty when it is not one).
    public var jsonRows: [[String: Any]] {
        (try? JSONSerialization.jsonObject(with: Data(standardOutput.utf8))) as? [[String: Any]] ?? []
    }
}

/// A simulated tenant on loopback, a config file for it and a database the real daemon fills: what the operator
/// command tests run the binary against.
public final class OperatorFixture: Sendable {
    public let simulator: GraphSimulator
    public let settings: SimulatorConfiguration
    public let directory: TemporaryDirectory
    public let database: String
    public let config: String

    /// Starts a simulator with `users` users; nothing is polled yet.
    public init(users: Int, changeProbability: Double, extra: [String: Any] = [:]) async throws {
        var settings = SimulatorConfiguration()
        settings.userCount = users
        settings.changeProbability = changeProbability
        settings.seed = UInt64.random(in: 1...1_000_000)
        let simulator = GraphSimulator(configuration: settings, logger: Logger(label: "fixture"))
        _ = try await simulator.start()
        self.simulator = simulator
        self.settings = settings
        self.directory = TemporaryDirectory("presence-sync-operator")
        self.database = directory.file("presence.db")
        self.config = try SimulatorSetup.writeConfig(
            SimulatorSetup.document(
                for: simulator, settings: settings, database: database, interval: 0.1, extra: extra),
            in: directory)
    }

    /// Runs the real daemon in-process for `cycles` poll cycles against the simulator, filling the database.
    public func poll(cycles: Int) async throws {
        let configuration = try Configuration.load(file: config)
        var options = Daemon.Options(maxCycles: cycles)
        options.environment = [SimulatorSetup.secretVariable: settings.clientSecret]
        var logger = Logger(label: "fixture-daemon")
        logger.logLevel = .warning
        try await Daemon(configuration: configuration, options: options, logger: logger).run()
    }

    /// Runs the `presence-sync` binary with `arguments` (the client secret in its environment) until it exits.
    public func run(_ arguments: [String], timeZone: String = "UTC") async throws -> CommandResult {
        var environment = ProcessInfo.processInfo.environment
        environment[SimulatorSetup.secretVariable] = settings.clientSecret
        environment["TZ"] = timeZone
        let process = try ChildProcess(arguments, environment: environment)
        let status = await process.waitForExit()
        return CommandResult(
            status: status, standardOutput: process.standardOutput, standardError: process.standardError)
    }

    /// Stops the simulator.
    public func stop() async {
        await simulator.stop()
    }
}
