import Foundation
import GraphSimulator
import InMemoryLogging
import Logging
import PresenceSync
import TestSupport
import Testing

/// The daemon's sign-in over real loopback HTTP: certificates end to end, and failures that must not stop it.
@Suite("Daemon sign-in against the simulator", .serialized)
struct DaemonSignInTests {
    static func simulator(registered: [String] = []) async throws -> (GraphSimulator, SimulatorConfiguration) {
        var settings = SimulatorConfiguration()
        settings.userCount = 20
        settings.changeProbability = 0.3
        settings.clientCertificates = registered
        let simulator = GraphSimulator(configuration: settings)
        _ = try await simulator.start()
        return (simulator, settings)
    }

    static func logger(_ logs: InMemoryLogHandler) -> Logger {
        var logger = Logger(label: "daemon-sign-in-test") { _ in logs }
        logger.logLevel = .trace
        return logger
    }

    @Test("a daemon signing in with a certificate polls and stores history; the key never reaches the log")
    func certificateDaemon() async throws {
        let (simulator, settings) = try await Self.simulator(registered: [TestCertificate.shared.certificatePEM])
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let pem = directory.write("app.pem", TestCertificate.shared.combinedPEM)
        var document = SimulatorSetup.document(
            for: simulator, settings: settings, database: directory.file("p.db"), interval: 0.1)
        document["credential"] = ["type": "certificate", "file": pem]
        let logs = InMemoryLogHandler()
        let sink = CollectingSink()
        let daemon = Daemon(
            configuration: try SimulatorSetup.configuration(document),
            options: Daemon.Options(maxCycles: 3, extraSink: sink), logger: Self.logger(logs))
        try await daemon.run()
        #expect(simulator.statistics.clientAssertionsAccepted == 1)
        #expect(simulator.statistics.lastClientAssertionAlgorithm == "PS256")
        let reader = try HistoryReader(path: directory.file("p.db"))
        #expect(try reader.integer("SELECT count(*) FROM presence_current") == 20)
        #expect(!sink.events.isEmpty)
        let text = logs.entries.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(!text.contains(TestCertificate.shared.privateKeyMarker))
        #expect(!text.contains("PRIVATE KEY"))
        #expect(!text.contains("client_assertion"))
    }

    @Test("a wrong secret: the daemon keeps cycling, sign-in is attempted a bounded number of times, logged once")
    func wrongSecretBoundedAttempts() async throws {
        let (simulator, settings) = try await Self.simulator()
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let configuration = try SimulatorSetup.configuration(
            SimulatorSetup.document(
                for: simulator, settings: settings, database: directory.file("p.db"), interval: 0.1))
        let logs = InMemoryLogHandler()
        var options = Daemon.Options(maxCycles: 25)
        options.environment = [SimulatorSetup.secretVariable: "not-the-secret"]
        let started = ContinuousClock.now
        let daemon = Daemon(configuration: configuration, options: options, logger: Self.logger(logs))
        try await daemon.run()
        let elapsed = ContinuousClock.now - started
        // 25 cycles of 0.1 s: about 2.5 s (more on a loaded machine). The standard backoff waits at least 2.5 s
        // after the first failure and 5 s after the second; without it every cycle would sign in.
        let requests = simulator.statistics.tokenRequests
        #expect(requests >= 1 && requests <= 3, "token requests: \(requests) in \(elapsed)")
        let reader = try HistoryReader(path: directory.file("p.db"))
        #expect(try reader.integer("SELECT count(*) FROM poll_cycles") == 25, "every cycle ran")
        #expect(try reader.integer("SELECT sum(failed_batches) FROM poll_cycles") == 25)
        #expect(try reader.integer("SELECT count(*) FROM presence_history") == 0)
        let errors = logs.entries.filter { $0.level == .error }
        #expect(errors.count == 1, "\(errors.map(\.message))")
        let text = errors.map { "\($0.message) \($0.metadata)" }.joined()
        #expect(text.contains("AADSTS7000215"))
        #expect(text.contains("not its Secret ID"))
        let all = logs.entries.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(!all.contains("not-the-secret"))
        #expect(
            logs.entries.filter { $0.level == .warning && $0.message.description.contains("batch skipped") }.isEmpty)
    }

    @Test("a certificate the app does not know: AADSTS700027 logged once, the daemon keeps cycling")
    func unregisteredCertificateDaemon() async throws {
        let (simulator, settings) = try await Self.simulator(registered: [TestCertificate.other.certificatePEM])
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let pem = directory.write("app.pem", TestCertificate.shared.combinedPEM)
        var document = SimulatorSetup.document(
            for: simulator, settings: settings, database: directory.file("p.db"), interval: 0.1)
        document["credential"] = ["type": "certificate", "file": pem, "algorithm": "RS256"]
        let logs = InMemoryLogHandler()
        let daemon = Daemon(
            configuration: try SimulatorSetup.configuration(document), options: Daemon.Options(maxCycles: 10),
            logger: Self.logger(logs))
        try await daemon.run()
        #expect(simulator.statistics.tokenRequests == 1)
        #expect(simulator.statistics.clientAssertionsAccepted == 0)
        let reader = try HistoryReader(path: directory.file("p.db"))
        #expect(try reader.integer("SELECT count(*) FROM poll_cycles") == 10)
        let errors = logs.entries.filter { $0.level == .error }
        #expect(errors.count == 1)
        let text = logs.entries.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(text.contains("AADSTS700027"))
        #expect(text.contains("upload this certificate"))
        #expect(!text.contains(TestCertificate.shared.privateKeyMarker))
        #expect(!text.contains("PRIVATE KEY"))
    }
}
