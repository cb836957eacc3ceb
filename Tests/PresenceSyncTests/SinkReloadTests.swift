import Foundation
import GraphSimulator
import PresenceSync
import TestSupport
import Testing

/// SIGHUP re-reads the event sinks: webhook endpoints start and stop without a restart, a bad secret rejects the
/// whole reload, and each endpoint's requests are counted by outcome on `/metrics`.
@Suite("Event sinks follow a reload", .serialized)
struct SinkReloadTests {
    @Test("an endpoint added by reload catches up from the outbox; a removed one stops; a bad secret is refused")
    func addRemoveAndRefuse() async throws {
        let (simulator, settings) = try await DaemonProcessTests.startSimulator(users: 30, changeProbability: 0.3)
        let first = try await WebhookReceiver(secrets: [WebhookDeliveryTests.secret])
        let second = try await WebhookReceiver(secrets: [WebhookDeliveryTests.secret])
        defer {
            Task {
                await first.stop()
                await second.stop()
                await simulator.stop()
            }
        }
        let directory = TemporaryDirectory()
        let secretFile = directory.file("hook-secret")
        try Data(WebhookDeliveryTests.secret.utf8).write(to: URL(fileURLWithPath: secretFile))
        let port = try LoopbackSocket.freePort()
        func endpoint(_ name: String, _ receiver: WebhookReceiver, secret: String) -> [String: Any] {
            ["name": name, "url": receiver.url, "secret": ["file": secret], "retryInitialSeconds": 0.05]
        }
        var document = SimulatorSetup.document(
            for: simulator, settings: settings, database: directory.file("p.db"), interval: 0.2, batchSize: 10)
        document["logLevel"] = "info"
        document["observability"] = ["listen": "127.0.0.1:\(port)"]
        document["events"] = ["stdout": false, "webhooks": [endpoint("first", first, secret: secretFile)]]
        let config = try SimulatorSetup.writeConfig(document, in: directory)
        let daemon = try ChildProcess(
            ["run", "--config", config], environment: DaemonProcessTests.environment(secret: settings.clientSecret))
        defer { daemon.send(SIGKILL) }
        #expect(await first.wait { $0.count >= 30 })

        // Add a second endpoint: it starts from the outbox, so it gets the events from before the reload too.
        document["events"] = [
            "stdout": false,
            "webhooks": [endpoint("first", first, secret: secretFile), endpoint("second", second, secret: secretFile)],
        ]
        _ = try SimulatorSetup.writeConfig(document, in: directory)
        daemon.send(SIGHUP)
        #expect(await daemon.waitForStandardError("event sinks changed"))
        #expect(daemon.standardError.contains("started=webhook:second"))
        let firstEarly = Set(first.acknowledged.flatMap { $0.events.map(\.id) })
        #expect(
            await second.wait { _ in
                Set(second.acknowledged.flatMap { $0.events.map(\.id) }).isSuperset(of: firstEarly)
            })
        #expect(second.deliveries.allSatisfy { $0.signatureValid })

        // A third endpoint whose secret file does not exist: the whole reload is refused, both endpoints go on.
        var refused = document
        refused["events"] = [
            "stdout": false,
            "webhooks": [
                endpoint("first", first, secret: secretFile), endpoint("second", second, secret: secretFile),
                endpoint("third", second, secret: directory.file("missing-secret")),
            ],
        ]
        _ = try SimulatorSetup.writeConfig(refused, in: directory)
        daemon.send(SIGHUP)
        #expect(await daemon.waitForStandardError("configuration reload rejected"))
        #expect(daemon.standardError.contains("events.webhooks[2].secret"))
        let firstCount = first.acknowledged.count
        #expect(await first.wait { _ in first.acknowledged.count > firstCount + 5 }, "the first endpoint still runs")

        // Remove the first endpoint: it gets nothing more, the second keeps receiving.
        document["events"] = ["stdout": false, "webhooks": [endpoint("second", second, secret: secretFile)]]
        _ = try SimulatorSetup.writeConfig(document, in: directory)
        daemon.send(SIGHUP)
        #expect(await daemon.waitForStandardError("stopped=webhook:first"))
        // A request cancelled by the stop may still be arriving at the receiver; after that, nothing more.
        try await Task.sleep(for: .milliseconds(500))
        let stoppedAt = first.deliveries.count
        let secondCount = second.acknowledged.count
        #expect(await second.wait { _ in second.acknowledged.count > secondCount + 10 })
        #expect(first.deliveries.count == stoppedAt, "nothing is sent to a removed endpoint")

        // Requests by endpoint and outcome.
        let metrics = try await ObservabilityEndpointTests.get("http://127.0.0.1:\(port)/metrics").body
        let delivered = ObservabilityEndpointTests.value(
            #"presence_sync_webhook_requests_total{endpoint="second",outcome="delivered"}"#, in: metrics)
        #expect(try #require(delivered) >= Double(secondCount))
        let events = ObservabilityEndpointTests.value(
            #"presence_sync_webhook_events_total{endpoint="first",outcome="delivered"}"#, in: metrics)
        #expect(try #require(events) >= Double(firstCount))
        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
        #expect(!daemon.standardError.contains(WebhookDeliveryTests.secret))
    }
}
