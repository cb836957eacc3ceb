import Foundation
import GraphSimulator
import Logging
import PresenceSync
import TestSupport
import Testing

/// Webhook delivery end to end: the daemon against the simulator, posting to a real loopback receiver that
/// verifies every signature on its own.
@Suite("Webhook delivery to a loopback receiver", .serialized)
struct WebhookDeliveryTests {
    static let logger = Logger(label: "webhook-test")
    static let secret = "whsec_" + Data((0..<32).map { UInt8(($0 * 7) % 256) }).base64EncodedString()

    /// A simulator, a temporary directory with the signing secret in a file, and a config builder.
    struct Fixture {
        let simulator: GraphSimulator
        let settings: SimulatorConfiguration
        let directory = TemporaryDirectory()
        var database: String { directory.file("p.db") }
        var secretFile: String { directory.file("hook-secret") }

        init(users: Int, changeProbability: Double) async throws {
            var settings = SimulatorConfiguration()
            settings.userCount = users
            settings.changeProbability = changeProbability
            settings.seed = UInt64.random(in: 1...1_000_000)
            self.settings = settings
            simulator = GraphSimulator(configuration: settings)
            _ = try await simulator.start()
            try Data(WebhookDeliveryTests.secret.utf8).write(to: URL(fileURLWithPath: secretFile))
        }

        func endpoint(_ name: String, _ receiver: WebhookReceiver, _ extra: [String: Any] = [:]) -> [String: Any] {
            var endpoint: [String: Any] = [
                "name": name, "url": receiver.url, "secret": ["file": secretFile],
                "retryInitialSeconds": 0.05, "retryMaxSeconds": 0.2, "maxConcurrentUsers": 4,
                "headers": ["Authorization": "Bearer test-token"],
            ]
            for (key, value) in extra { endpoint[key] = value }
            return endpoint
        }

        func configuration(_ endpoints: [[String: Any]], interval: Double = 0.1) throws -> Configuration {
            try Configuration.parse(JSONSerialization.data(withJSONObject: document(endpoints, interval: interval)))
        }

        /// The configuration as JSON (for a command run as its own process: `writeConfig`).
        func document(_ endpoints: [[String: Any]], interval: Double = 0.1) -> [String: Any] {
            var document = SimulatorSetup.document(
                for: simulator, settings: settings, database: database, interval: interval, batchSize: 100)
            document["events"] = ["stdout": false, "webhooks": endpoints]
            return document
        }

        var options: Daemon.Options {
            var options = Daemon.Options()
            options.environment = [SimulatorSetup.secretVariable: settings.clientSecret]
            return options
        }

        /// Runs `cycles` poll cycles and returns when the daemon has stopped.
        func run(_ configuration: Configuration, cycles: Int) async throws {
            var options = self.options
            options.maxCycles = cycles
            try await Daemon(configuration: configuration, options: options, logger: logger).run()
        }

        /// Starts a daemon that polls once and then waits; returns it and its task.
        func start(_ configuration: Configuration) -> (Daemon, Task<Void, any Error>) {
            var configuration = configuration
            configuration.polling.intervalSeconds = 10_000
            let daemon = Daemon(configuration: configuration, options: options, logger: logger)
            return (daemon, Task { try await daemon.run() })
        }

        func reader() throws -> HistoryReader { try HistoryReader(path: database) }

        /// "<instance>:<id>" for every history row.
        func eventIDs() throws -> Set<String> {
            let reader = try reader()
            let instance =
                try reader.connection.prepare("SELECT value FROM store_info WHERE key = 'instance_id'")
                .queryOne { $0.text(0) } ?? nil
            var ids = Set<String>()
            try reader.connection.prepare("SELECT id FROM presence_history").query {
                ids.insert("\(instance ?? ""):\($0.int64(0))")
            }
            return ids
        }

        /// Poll cycles recorded so far (0 while the daemon has not created the file yet).
        func cycles() -> Int { (try? reader().integer("SELECT count(*) FROM poll_cycles")) ?? 0 }

        /// Waits until the waiting daemon's cycle is recorded.
        func waitForCycles(_ count: Int) async throws {
            let deadline = ContinuousClock.now + .seconds(30)
            while cycles() < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        }
    }

    /// Every event id acknowledged at least once; per user, first acknowledgements in history order.
    static func checkOrder(_ deliveries: [WebhookReceiver.Delivery]) {
        var last: [String: Int64] = [:]
        var seen = Set<String>()
        for delivery in deliveries where (200..<300).contains(delivery.status) {
            for event in delivery.events where seen.insert(event.id).inserted {
                #expect(event.historyID > last[event.subject, default: 0], "user \(event.subject) out of order")
                last[event.subject] = event.historyID
            }
        }
    }

    static func acknowledgedIDs(_ receiver: WebhookReceiver) -> Set<String> {
        Set(receiver.acknowledged.flatMap { $0.events.map(\.id) })
    }

    @Test("receiver down for a while, then back: everything arrives, signed, in per-user order, none lost")
    func downThenBack() async throws {
        let fixture = try await Fixture(users: 200, changeProbability: 0.3)
        let receiver = try await WebhookReceiver(secrets: [Self.secret])
        defer {
            Task {
                await receiver.stop()
                await fixture.simulator.stop()
            }
        }
        receiver.set(.fail(status: 503))
        let configuration = try fixture.configuration([fixture.endpoint("main", receiver)])
        try await fixture.run(configuration, cycles: 3)
        #expect(!receiver.deliveries.isEmpty && receiver.acknowledged.isEmpty)

        receiver.set(.accept)
        let (daemon, task) = fixture.start(configuration)
        try await fixture.waitForCycles(4)
        let expected = try fixture.eventIDs()
        #expect(await receiver.wait { _ in Self.acknowledgedIDs(receiver).isSuperset(of: expected) })
        // The cursor is stored just after the receiver's acknowledgement: on a loaded machine a stop right after the
        // last acknowledgement can come first (those events would be sent again after a restart: at least once).
        let cursorDeadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < cursorDeadline {
            let reader = try fixture.reader()
            let cursor = try? reader.integer("SELECT delivered_through FROM outbox_cursors WHERE sink = 'webhook:main'")
            if let cursor, try cursor == reader.integer("SELECT max(id) FROM presence_history") { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        daemon.stop()
        try await task.value

        #expect(expected.count > 200)
        #expect(Self.acknowledgedIDs(receiver) == expected)
        #expect(receiver.deliveries.allSatisfy { $0.signatureValid })
        #expect(receiver.deliveries.allSatisfy { $0.contentType.hasPrefix("application/cloudevents+json") })
        #expect(receiver.deliveries.allSatisfy { $0.headers["authorization"] == "Bearer test-token" })
        #expect(receiver.deliveries.allSatisfy { $0.events.count == 1 && $0.webhookID == $0.events[0].id })
        Self.checkOrder(receiver.deliveries)
        let reader = try fixture.reader()
        #expect(
            try reader.integer("SELECT delivered_through FROM outbox_cursors WHERE sink = 'webhook:main'")
                == reader.integer("SELECT max(id) FROM presence_history"))
        #expect(try reader.integer("SELECT count(*) FROM webhook_dead_letters") == 0)
    }

    @Test("429 with Retry-After: the same request is not tried again before the time it asked for")
    func retryAfter() async throws {
        let fixture = try await Fixture(users: 6, changeProbability: 0)
        let receiver = try await WebhookReceiver(secrets: [Self.secret])
        defer {
            Task {
                await receiver.stop()
                await fixture.simulator.stop()
            }
        }
        receiver.set(.tooManyRequests(retryAfterSeconds: 2))
        let (daemon, task) = fixture.start(try fixture.configuration([fixture.endpoint("main", receiver)]))
        #expect(await receiver.wait { $0.count >= 4 })
        receiver.set(.accept)
        try await fixture.waitForCycles(1)
        let expected = try fixture.eventIDs()
        #expect(await receiver.wait { _ in Self.acknowledgedIDs(receiver) == expected })
        daemon.stop()
        try await task.value
        var lastAttempt: [String: WebhookReceiver.Delivery] = [:]
        for delivery in receiver.deliveries {
            if let previous = lastAttempt[delivery.webhookID], previous.status == 429 {
                #expect(delivery.receivedAt - previous.receivedAt >= .milliseconds(1950), "retried before Retry-After")
            }
            lastAttempt[delivery.webhookID] = delivery
        }
        #expect(receiver.deliveries.contains { $0.status == 429 })
    }

    @Test("410 disables that endpoint (and it stays disabled); a second endpoint is unaffected")
    func goneAndOtherEndpoint() async throws {
        let fixture = try await Fixture(users: 100, changeProbability: 0.3)
        let gone = try await WebhookReceiver(secrets: [Self.secret])
        let healthy = try await WebhookReceiver(secrets: [Self.secret])
        defer {
            Task {
                await gone.stop()
                await healthy.stop()
                await fixture.simulator.stop()
            }
        }
        gone.set(.fail(status: 410))
        let configuration = try fixture.configuration([
            fixture.endpoint("gone", gone),
            fixture.endpoint("healthy", healthy, ["mode": "batch", "maxBatchEvents": 7]),
        ])
        try await fixture.run(configuration, cycles: 3)
        let (daemon, task) = fixture.start(configuration)
        try await fixture.waitForCycles(4)
        let expected = try fixture.eventIDs()
        #expect(await healthy.wait { _ in Self.acknowledgedIDs(healthy) == expected })
        daemon.stop()
        try await task.value

        #expect(gone.acknowledged.isEmpty)
        #expect(gone.deliveries.count <= 4, "one request per lane at most before the endpoint is disabled")
        let reader = try fixture.reader()
        #expect(try reader.integer("SELECT count(*) FROM webhook_endpoints_disabled WHERE endpoint = 'gone'") == 1)
        #expect(
            healthy.deliveries.allSatisfy {
                $0.signatureValid && $0.contentType.hasPrefix("application/cloudevents-batch+json")
                    && $0.events.count <= 7
            })
        #expect(healthy.deliveries.contains { $0.events.count > 1 })
        Self.checkOrder(healthy.deliveries)
    }

    @Test("a receiver slower than the timeout: the request is abandoned and retried with the same webhook-id")
    func slowReceiver() async throws {
        let fixture = try await Fixture(users: 10, changeProbability: 0)
        let receiver = try await WebhookReceiver(secrets: [Self.secret])
        defer {
            Task {
                await receiver.stop()
                await fixture.simulator.stop()
            }
        }
        receiver.set(.hang(seconds: 1.5))
        let (daemon, task) = fixture.start(
            try fixture.configuration([fixture.endpoint("main", receiver, ["timeoutSeconds": 0.3])]))
        try await Task.sleep(for: .milliseconds(800))
        receiver.set(.accept)
        try await fixture.waitForCycles(1)
        let expected = try fixture.eventIDs()
        #expect(await receiver.wait { _ in Self.acknowledgedIDs(receiver).isSuperset(of: expected) })
        daemon.stop()
        try await task.value
        let ids = receiver.deliveries.map(\.webhookID)
        #expect(Set(ids).count < ids.count, "timed-out requests were sent again")
        #expect(receiver.deliveries.allSatisfy { $0.events.count == 1 && $0.webhookID == $0.events[0].id })
    }

    @Test("other 4xx are permanent: dead letters with the error, the cursor moves on; `outbox retry` resends them")
    func permanentFailure() async throws {
        let fixture = try await Fixture(users: 20, changeProbability: 0)
        let receiver = try await WebhookReceiver(secrets: [Self.secret])
        defer {
            Task {
                await receiver.stop()
                await fixture.simulator.stop()
            }
        }
        receiver.set(.fail(status: 422))
        let (daemon, task) = fixture.start(try fixture.configuration([fixture.endpoint("main", receiver)]))
        try await fixture.waitForCycles(1)
        #expect(await receiver.wait { $0.count >= 20 })
        // Once the endpoint's cursor is past every event, each was given up on: nothing can be sent again.
        #expect(
            await HistoryReader.eventually(fixture.database) { reader in
                try reader.integer("SELECT delivered_through FROM outbox_cursors WHERE sink = 'webhook:main'")
                    == reader.integer("SELECT max(id) FROM presence_history")
            })
        #expect(receiver.deliveries.count == 20, "a permanent failure is not retried")
        let reader = try fixture.reader()
        #expect(try reader.integer("SELECT count(*) FROM webhook_dead_letters WHERE last_error = 'HTTP 422'") == 20)
        #expect(
            try reader.integer("SELECT delivered_through FROM outbox_cursors WHERE sink = 'webhook:main'")
                == reader.integer("SELECT max(id) FROM presence_history"))

        // `outbox retry` while the daemon runs: the requeued events go out again and leave the dead letters.
        receiver.set(.accept)
        #expect(try OutboxMaintenance.requeueDeadLetters(path: fixture.database, endpoint: "main") == 20)
        let expected = try fixture.eventIDs()
        #expect(await receiver.wait { _ in Self.acknowledgedIDs(receiver) == expected })
        #expect(
            await HistoryReader.eventually(fixture.database) { reader in
                try reader.integer("SELECT count(*) FROM webhook_requeued") == 0
            })
        daemon.stop()
        try await task.value
        #expect(try reader.integer("SELECT count(*) FROM webhook_dead_letters") == 0)
        #expect(try reader.integer("SELECT count(*) FROM webhook_requeued") == 0)
        #expect(receiver.acknowledged.allSatisfy { $0.signatureValid })
    }
}
