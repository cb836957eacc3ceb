import Foundation
import GraphSimulator
import PresenceSync
import TestSupport
import Testing

/// Webhooks with the real binary: kill -9 during delivery, and a bad secret at start.
@Suite("Webhook delivery with the real process", .serialized)
struct WebhookProcessTests {
    static let secret = WebhookDeliveryTests.secret

    static func environment(_ settings: SimulatorConfiguration) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment[SimulatorSetup.secretVariable] = settings.clientSecret
        environment["HOOK_SECRET"] = secret
        return environment
    }

    /// A started simulator of `users` users (each changing with probability 0.3 per poll) and a started receiver
    /// that verifies signatures with `secret`.
    static func simulatorAndReceiver(
        users: Int
    ) async throws -> (SimulatorConfiguration, GraphSimulator, WebhookReceiver) {
        var settings = SimulatorConfiguration()
        settings.userCount = users
        settings.changeProbability = 0.3
        settings.seed = UInt64.random(in: 1...1_000_000)
        let simulator = GraphSimulator(configuration: settings)
        _ = try await simulator.start()
        return (settings, simulator, try await WebhookReceiver(secrets: [secret]))
    }

    @Test("kill -9 during delivery, then a restart: nothing lost; a repeat only ever has the same webhook-id")
    func killDuringDelivery() async throws {
        let (settings, simulator, receiver) = try await Self.simulatorAndReceiver(users: 1_000)
        defer {
            Task {
                await receiver.stop()
                await simulator.stop()
            }
        }
        let directory = TemporaryDirectory()
        let database = directory.file("p.db")
        var document = SimulatorSetup.document(
            for: simulator, settings: settings, database: database, interval: 0.1, batchSize: 100)
        document["logLevel"] = "info"
        document["events"] = [
            "stdout": false,
            "webhooks": [["name": "main", "url": receiver.url, "secret": ["environment": "HOOK_SECRET"]]],
        ]
        let config = try SimulatorSetup.writeConfig(document, in: directory)
        for _ in 0..<3 {
            let daemon = try ChildProcess(["run", "--config", config], environment: Self.environment(settings))
            #expect(await receiver.wait { $0.count > 50 })
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...300)))
            daemon.send(SIGKILL)
            _ = await daemon.waitForExit()
        }
        // A last run polls once more, then is left to deliver everything before it is stopped.
        let daemon = try ChildProcess(
            ["run", "--config", config, "--max-cycles", "1"], environment: Self.environment(settings))
        #expect(await daemon.waitForExit() == 0)
        document["polling"] = ["intervalSeconds": 3600, "batchSize": 100]
        _ = try SimulatorSetup.writeConfig(document, in: directory)
        let drainer = try ChildProcess(["run", "--config", config], environment: Self.environment(settings))
        let reader = try HistoryReader(path: database)
        let instance =
            try reader.connection.prepare("SELECT value FROM store_info WHERE key = 'instance_id'")
            .queryOne { $0.text(0) } ?? nil
        #expect(await drainer.waitForStandardError("cycle finished", count: 1))
        var expected = Set<String>()
        try reader.connection.prepare("SELECT id FROM presence_history").query {
            expected.insert("\(instance ?? ""):\($0.int64(0))")
        }
        let wanted = expected
        let arrived = await receiver.wait(timeout: .seconds(60)) { deliveries in
            Set(deliveries.filter { $0.status == 200 }.flatMap { $0.events.map(\.id) }).isSuperset(of: wanted)
        }
        drainer.send(SIGTERM)
        #expect(await drainer.waitForExit() == 0)
        #expect(arrived, "every stored change was delivered")
        #expect(
            receiver.deliveries.allSatisfy {
                $0.signatureValid && $0.events.count == 1 && $0.webhookID == $0.events[0].id
            })
        #expect(expected.count > 1_000)
    }

    @Test("a bad webhook secret stops the start with exit 78 and a message that names its source, not its value")
    func badSecret() async throws {
        let directory = TemporaryDirectory()
        let bad = "whsec_dG9vIHNob3J0"
        try Data(bad.utf8).write(to: URL(fileURLWithPath: directory.file("hook")))
        let document: [String: Any] = [
            "tenantId": "contoso.onmicrosoft.com", "clientId": "11111111-2222-4333-8444-555555555555",
            "credential": ["environment": "UNUSED"], "users": ["11111111-2222-4333-8444-555555555556"],
            "database": directory.file("p.db"),
            "events": [
                "webhooks": [["name": "main", "url": "https://hooks.example.com/p", "secret": ["file": "hook"]]]
            ],
        ]
        let config = try SimulatorSetup.writeConfig(document, in: directory)
        for command in ["run", "check-config"] {
            let process = try ChildProcess([command, "--config", config], environment: [:])
            #expect(await process.waitForExit() == 78, "\(command)")
            #expect(process.standardError.contains("events.webhooks[0].secret"), "\(command)")
            #expect(process.standardError.contains(directory.file("hook")), "\(command)")
            #expect(!process.standardError.contains("dG9vIHNob3J0"), "\(command)")
        }
    }
}
