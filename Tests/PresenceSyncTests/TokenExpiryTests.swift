import Foundation
import GraphSimulator
import PresenceSync
import TestSupport
import Testing

/// Tokens that expire while a cycle runs: the daemon signs in again and no batch is lost.
@Suite("Token expiry during a cycle", .serialized)
struct TokenExpiryTests {
    @Test("2-second tokens over slow 3-second cycles: new tokens are fetched mid-cycle, every batch is stored")
    func expiresMidCycle() async throws {
        var settings = SimulatorConfiguration()
        settings.userCount = 50
        settings.changeProbability = 0.4
        settings.recordServedStates = true
        settings.tokenLifetimeSeconds = 2
        settings.seed = UInt64.random(in: 1...1_000_000)
        let simulator = GraphSimulator(configuration: settings)
        _ = try await simulator.start()
        defer { Task { await simulator.stop() } }
        // Every request of the first three cycles is answered after 600 ms: a cycle of five batches, one at a
        // time, takes 3 s, longer than a token lives.
        simulator.inject(Array(repeating: .delay(milliseconds: 600), count: 15))
        let directory = TemporaryDirectory()
        let database = directory.file("presence.db")
        var document = SimulatorSetup.document(for: simulator, settings: settings, database: database)
        document["polling"] = ["intervalSeconds": 0.2, "batchSize": 10, "maxConcurrentRequests": 1]
        let daemon = Daemon(
            configuration: try SimulatorSetup.configuration(document),
            options: DaemonIntegrationTests.options(cycles: 4, sink: CollectingSink(), secret: settings.clientSecret),
            logger: DaemonIntegrationTests.logger)
        try await daemon.run()

        let reader = try HistoryReader(path: database)
        #expect(try reader.integer("SELECT sum(failed_batches) FROM poll_cycles") == 0)
        #expect(try reader.integer("SELECT sum(observed) FROM poll_cycles") == 200)
        #expect(simulator.statistics.tokensIssued >= 3, "tokens were renewed during the slow cycles")
        for user in simulator.userIDs {
            #expect(try reader.states(of: user) == SimulatorSetup.distinctStates(simulator.servedStates(for: user)))
        }
        #expect(try reader.invariantViolations() == [])
    }
}
