import Foundation
import GraphSimulator
import PresenceSync
import TestSupport
import Testing

/// Graph throttling and server trouble against the simulator's fault injection, seen from the simulator's side:
/// when each request arrived and how it was answered.
@Suite("Throttling and transient Graph failures", .serialized)
struct ThrottlingTests {
    static func run(
        simulator: GraphSimulator, settings: SimulatorConfiguration, cycles: Int, polling: [String: Any]
    ) async throws -> (HistoryReader, TemporaryDirectory) {
        let directory = TemporaryDirectory()
        let database = directory.file("presence.db")
        var document = SimulatorSetup.document(for: simulator, settings: settings, database: database)
        document["polling"] = polling
        let sink = CollectingSink()
        let daemon = Daemon(
            configuration: try SimulatorSetup.configuration(document),
            options: DaemonIntegrationTests.options(cycles: cycles, sink: sink, secret: settings.clientSecret),
            logger: DaemonIntegrationTests.logger)
        try await daemon.run()
        return (try HistoryReader(path: database), directory)
    }

    @Test(
        "a 429 storm: nothing is sent before Retry-After, the budget holds with retries, no change is lost",
        arguments: ["fixed", "adaptive"])
    func tooManyRequestsStorm(mode: String) async throws {
        let (simulator, settings) = try await DaemonIntegrationTests.startSimulator(users: 40, changeProbability: 0.4)
        defer { Task { await simulator.stop() } }
        // Fewer 429s in adaptive mode: the suite runs its cases one after the other, and each 429 costs seconds.
        let storm = mode == "fixed" ? 6 : 3
        simulator.inject(Array(repeating: .status(429, retryAfterSeconds: 1), count: storm))
        // Adaptive polling takes the whole budget here (budgetShare 1), at an even pace: 4 sweeps of 4 requests.
        let (reader, directory) = try await Self.run(
            // Adaptive: two sweeps take as many requests as the six 429s need (the halved budget grows back slowly).
            simulator: simulator, settings: settings, cycles: mode == "fixed" ? 4 : 2,
            polling: [
                "mode": mode, "budgetShare": 1, "intervalSeconds": 0.3, "batchSize": 10, "maxConcurrentRequests": 1,
                "requestBudget": 6, "budgetWindowSeconds": 2, "maxAttempts": 8, "retryInitialSeconds": 0.05,
            ])
        let requests = simulator.presenceRequests.sorted { $0.arrivedAt < $1.arrivedAt }
        #expect(requests.filter { $0.status == 429 }.count == storm)
        // One request at a time, so whatever follows a 429 was sent after its answer: never before Retry-After.
        // (That the pause holds every batch, not only the throttled one, is RequestPacerThrottlingTests' job.)
        for (index, throttled) in requests.enumerated() where throttled.status == 429 && index + 1 < requests.count {
            #expect(
                requests[index + 1].arrivedAt - throttled.arrivedAt >= .milliseconds(990),
                "a request came before the Retry-After of a 429 had passed")
        }
        // The budget (6 per 2 s) holds, retries included. Measured where the requests arrive, 500 ms short of the
        // window: the daemon paces by send time, and on a loaded 2-core machine (the whole suite runs in parallel)
        // a request can reach the simulator hundreds of milliseconds after it was sent while the next one does not
        // (250 ms was seen to be too little). The exact rule, by send time, is RequestBudgetTests' job.
        for (index, first) in requests.enumerated() {
            let inWindow = requests[index...].prefix { $0.arrivedAt < first.arrivedAt + .milliseconds(1500) }
            #expect(inWindow.count <= 6, "\(inWindow.count) requests within 2 s")
        }
        #expect(try reader.integer("SELECT sum(failed_batches) FROM poll_cycles") == 0)
        for user in simulator.userIDs {
            #expect(try reader.states(of: user) == SimulatorSetup.distinctStates(simulator.servedStates(for: user)))
        }
        #expect(try reader.invariantViolations() == [])
        _ = directory
    }

    @Test("a 429 that ends a batch's attempts still holds the next batch until its Retry-After has passed")
    func throttledGiveUpPauses() async throws {
        let (simulator, settings) = try await DaemonIntegrationTests.startSimulator(users: 20, changeProbability: 0.4)
        defer { Task { await simulator.stop() } }
        // One attempt per batch, one request at a time: batch 1 gets a 429 and is skipped; batch 2 must wait.
        simulator.inject([.status(429, retryAfterSeconds: 1)])
        let (reader, directory) = try await Self.run(
            simulator: simulator, settings: settings, cycles: 1,
            polling: ["intervalSeconds": 0.3, "batchSize": 10, "maxConcurrentRequests": 1, "maxAttempts": 1])
        let requests = simulator.presenceRequests.sorted { $0.arrivedAt < $1.arrivedAt }
        #expect(requests.map(\.status) == [429, 200])
        if requests.count == 2 {
            // Arrival times: the pause counts from the moment the 429 arrived at the daemon, which is after the
            // simulator answered it, so the next request can only arrive later than a second after the 429.
            #expect(requests[1].arrivedAt - requests[0].arrivedAt >= .seconds(1), "the next batch went early")
        }
        #expect(try reader.integer("SELECT failed_batches FROM poll_cycles WHERE id = 1") == 1)
        _ = directory
    }

    @Test("503 and 504 are retried with backoff; a batch failing every attempt is skipped and counted")
    func serverErrors() async throws {
        let (simulator, settings) = try await DaemonIntegrationTests.startSimulator(users: 20, changeProbability: 0.4)
        defer { Task { await simulator.stop() } }
        // One request at a time: batch 1 gets 503, 504, 503 (three attempts: skipped); batch 2 gets 503, 503 and
        // then its third attempt is served.
        simulator.inject([
            .status(503, retryAfterSeconds: nil), .status(504, retryAfterSeconds: nil),
            .status(503, retryAfterSeconds: nil), .status(503, retryAfterSeconds: nil),
            .status(503, retryAfterSeconds: nil),
        ])
        let (reader, directory) = try await Self.run(
            simulator: simulator, settings: settings, cycles: 3,
            polling: [
                "intervalSeconds": 0.3, "batchSize": 10, "maxConcurrentRequests": 1, "maxAttempts": 3,
                "retryInitialSeconds": 0.1,
            ])
        #expect(try reader.integer("SELECT failed_batches FROM poll_cycles WHERE id = 1") == 1)
        #expect(try reader.integer("SELECT observed FROM poll_cycles WHERE id = 1") == 10)
        #expect(try reader.integer("SELECT sum(failed_batches) FROM poll_cycles WHERE id > 1") == 0)
        let requests = simulator.presenceRequests.sorted { $0.arrivedAt < $1.arrivedAt }
        #expect(requests.prefix(6).map(\.status) == [503, 504, 503, 503, 503, 200])
        // Backoff between attempts of the same batch: at least half of 0.1 s, then of 0.2 s.
        #expect(requests[1].arrivedAt - requests[0].arrivedAt >= .milliseconds(45))
        #expect(requests[2].arrivedAt - requests[1].arrivedAt >= .milliseconds(95))
        for user in simulator.userIDs {
            #expect(try reader.states(of: user) == SimulatorSetup.distinctStates(simulator.servedStates(for: user)))
        }
        #expect(try reader.invariantViolations() == [])
        _ = directory
    }
}
