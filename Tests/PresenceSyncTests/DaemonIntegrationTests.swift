import Foundation
import GraphSimulator
import InMemoryLogging
import Logging
import PresenceSync
import TestSupport
import Testing

/// The daemon against the simulated tenant over real loopback HTTP, with a real SQLite file.
@Suite("Daemon against the simulator", .serialized)
struct DaemonIntegrationTests {
    static let logger = Logger(label: "daemon-test")

    static func startSimulator(
        users: Int, changeProbability: Double, sequenceOnly: Double = 0, unknown: UnknownIDBehaviour = .omit
    ) async throws -> (GraphSimulator, SimulatorConfiguration) {
        var settings = SimulatorConfiguration()
        settings.userCount = users
        settings.changeProbability = changeProbability
        settings.sequenceOnlyProbability = sequenceOnly
        settings.recordServedStates = true
        settings.unknownIDBehaviour = unknown
        settings.seed = UInt64.random(in: 1...1_000_000)
        let simulator = GraphSimulator(configuration: settings)
        _ = try await simulator.start()
        return (simulator, settings)
    }

    static func options(cycles: Int, sink: CollectingSink, secret: String) -> Daemon.Options {
        var options = Daemon.Options(maxCycles: cycles, extraSink: sink)
        options.environment = [SimulatorSetup.secretVariable: secret]
        return options
    }

    @Test("after several cycles, each user's history is exactly the sequence of distinct states served")
    func historyEqualsServedStates() async throws {
        let (simulator, settings) = try await Self.startSimulator(
            users: 1_500, changeProbability: 0.3, sequenceOnly: 0.2)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let database = directory.file("presence.db")
        let configuration = try SimulatorSetup.configuration(
            SimulatorSetup.document(
                for: simulator, settings: settings, database: database, interval: 0.1, batchSize: 400))
        let sink = CollectingSink()
        let daemon = Daemon(
            configuration: configuration, options: Self.options(cycles: 6, sink: sink, secret: settings.clientSecret),
            logger: Self.logger)
        try await daemon.run()

        let reader = try HistoryReader(path: database)
        var rows = 0
        for user in simulator.userIDs {
            let served = SimulatorSetup.distinctStates(simulator.servedStates(for: user))
            let recorded = try reader.states(of: user)
            #expect(recorded == served, "history of \(user) differs from what was served")
            rows += recorded.count
        }
        #expect(rows > 1_500 + 1_000, "with 30% changing per poll over 6 cycles there must be many changes")
        #expect(try reader.invariantViolations() == [])
        #expect(try reader.integer("SELECT count(*) FROM poll_cycles") == 6)
        #expect(try reader.integer("SELECT count(*) FROM presence_current") == 1_500)

        // One event per history row, ids unique and derived from the rows.
        let events = sink.events
        #expect(events.count == rows)
        #expect(Set(events.map(\.id)).count == rows)
        let ids = try reader.integer("SELECT max(id) FROM presence_history")
        #expect(events.map(\.change.historyID).max() == Int64(ids))
        // Per user, events arrive in history order.
        var lastByUser: [String: Int64] = [:]
        for event in events {
            #expect(event.change.historyID > lastByUser[event.change.userID, default: 0])
            lastByUser[event.change.userID] = event.change.historyID
        }
    }

    @Test("a malformed or failing answer writes nothing for that batch, and the daemon goes on")
    func malformedAnswers() async throws {
        let (simulator, settings) = try await Self.startSimulator(users: 30, changeProbability: 0.5)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let database = directory.file("presence.db")
        let configuration = try SimulatorSetup.configuration(
            SimulatorSetup.document(
                for: simulator, settings: settings, database: database, interval: 0.1, batchSize: 10))
        // Cycle 1 has three batches: the first two answers are bad, the third is good.
        simulator.inject([.malformedJSON, .truncatedJSON])
        let sink = CollectingSink()
        let daemon = Daemon(
            configuration: configuration, options: Self.options(cycles: 3, sink: sink, secret: settings.clientSecret),
            logger: Self.logger)
        try await daemon.run()
        let reader = try HistoryReader(path: database)
        #expect(try reader.integer("SELECT failed_batches FROM poll_cycles WHERE id = 1") == 2)
        #expect(try reader.integer("SELECT observed FROM poll_cycles WHERE id = 1") == 10)
        #expect(try reader.integer("SELECT failed_batches FROM poll_cycles WHERE id = 2") == 0)
        for user in simulator.userIDs {
            #expect(try reader.states(of: user) == SimulatorSetup.distinctStates(simulator.servedStates(for: user)))
        }
        #expect(try reader.invariantViolations() == [])
    }

    @Test("a revoked token is replaced after one 401, and no batch is lost to it")
    func tokenRevoked() async throws {
        let (simulator, settings) = try await Self.startSimulator(users: 20, changeProbability: 0.5)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let configuration = try SimulatorSetup.configuration(
            SimulatorSetup.document(
                for: simulator, settings: settings, database: directory.file("p.db"), interval: 0.2))
        let sink = CollectingSink()
        let daemon = Daemon(
            configuration: configuration, options: Self.options(cycles: 4, sink: sink, secret: settings.clientSecret),
            logger: Self.logger)
        // Revoke once the first token is in use (a fixed delay raced the daemon's start-up on a loaded machine).
        let revoker = Task {
            while simulator.statistics.presenceRequests == 0 { try await Task.sleep(for: .milliseconds(5)) }
            simulator.revokeTokens()
        }
        try await daemon.run()
        _ = await revoker.result
        let reader = try HistoryReader(path: directory.file("p.db"))
        #expect(try reader.integer("SELECT sum(failed_batches) FROM poll_cycles") == 0)
        #expect(simulator.statistics.tokenRequests >= 2)
    }

    @Test("users missing from answers are not changes; they are counted")
    func missingUsers() async throws {
        let (simulator, settings) = try await Self.startSimulator(users: 10, changeProbability: 0.2)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let ghost = "00000000-0000-4000-8000-00000000dead"
        var document = SimulatorSetup.document(
            for: simulator, settings: settings, database: directory.file("p.db"), interval: 0.1)
        document["users"] = simulator.userIDs + [ghost]
        let sink = CollectingSink()
        let daemon = Daemon(
            configuration: try SimulatorSetup.configuration(document),
            options: Self.options(cycles: 2, sink: sink, secret: settings.clientSecret), logger: Self.logger)
        try await daemon.run()
        let reader = try HistoryReader(path: directory.file("p.db"))
        #expect(try reader.integer("SELECT sum(missing) FROM poll_cycles") == 2)
        #expect(try reader.integer("SELECT count(*) FROM presence_history WHERE user_id = '\(ghost)'") == 0)
        #expect(sink.events.allSatisfy { $0.change.userID != ghost })
    }

    @Test("a wrong client secret fails sign-in with the AADSTS code; nothing is written, the daemon keeps going")
    func wrongSecret() async throws {
        let (simulator, settings) = try await Self.startSimulator(users: 5, changeProbability: 0)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let configuration = try SimulatorSetup.configuration(
            SimulatorSetup.document(for: simulator, settings: settings, database: directory.file("p.db"), interval: 0.1)
        )
        let sink = CollectingSink()
        let logs = InMemoryLogHandler()
        let daemon = Daemon(
            configuration: configuration, options: Self.options(cycles: 2, sink: sink, secret: "not-the-secret"),
            logger: Logger(label: "test") { _ in logs })
        try await daemon.run()
        let reader = try HistoryReader(path: directory.file("p.db"))
        #expect(try reader.integer("SELECT count(*) FROM presence_history") == 0)
        #expect(try reader.integer("SELECT sum(failed_batches) FROM poll_cycles") == 2)
        #expect(sink.events.isEmpty)
        let text = logs.entries.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(text.contains("AADSTS7000215"))
        #expect(text.contains("not its Secret ID"))
        #expect(!text.contains("not-the-secret"))
    }
}
