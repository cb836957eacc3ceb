import Foundation
import PresenceSync
import TestSupport
import Testing

/// An endpoint's state outlives the process: a receiver's Retry-After holds across a restart, and a 410-disabled
/// endpoint stays off until an operator re-enables it, then resumes without a restart.
@Suite("Webhook endpoint state across restarts", .serialized)
struct WebhookEndpointStateTests {
    typealias Fixture = WebhookDeliveryTests.Fixture

    @Test("a 429's Retry-After is kept in the database: the restarted daemon does not send before it")
    func retryAfterSurvivesRestart() async throws {
        let fixture = try await Fixture(users: 4, changeProbability: 0)
        let receiver = try await WebhookReceiver(secrets: [WebhookDeliveryTests.secret])
        defer {
            Task {
                await receiver.stop()
                await fixture.simulator.stop()
            }
        }
        receiver.set(.tooManyRequests(retryAfterSeconds: 4))
        let configuration = try fixture.configuration([
            fixture.endpoint("main", receiver, ["maxConcurrentUsers": 1])
        ])
        let (daemon, task) = fixture.start(configuration)
        #expect(await receiver.wait { $0.contains { $0.status == 429 } })
        let throttledAt = try #require(receiver.deliveries.first { $0.status == 429 }).receivedAt
        try await Task.sleep(for: .milliseconds(200))
        daemon.stop()
        try await task.value
        let reader = try fixture.reader()
        #expect(try reader.integer("SELECT count(*) FROM store_info WHERE key = 'webhook_not_before:main'") == 1)

        receiver.set(.accept)
        let restartedAt = ContinuousClock.now
        let (again, againTask) = fixture.start(configuration)
        let expected = try fixture.eventIDs()
        #expect(await receiver.wait { _ in WebhookDeliveryTests.acknowledgedIDs(receiver) == expected })
        again.stop()
        try await againTask.value
        let afterRestart = receiver.deliveries.filter { $0.receivedAt > restartedAt }
        #expect(!afterRestart.isEmpty)
        for delivery in afterRestart {
            #expect(delivery.receivedAt - throttledAt >= .milliseconds(3900), "sent before the stored Retry-After")
        }
        #expect(try reader.integer("SELECT count(*) FROM store_info WHERE key = 'webhook_not_before:main'") == 0)
    }

    @Test("410 disables the endpoint; `outbox enable` re-enables it and the running daemon catches up")
    func reenableAfterGone() async throws {
        let fixture = try await Fixture(users: 30, changeProbability: 0.3)
        let receiver = try await WebhookReceiver(secrets: [WebhookDeliveryTests.secret])
        defer {
            Task {
                await receiver.stop()
                await fixture.simulator.stop()
            }
        }
        receiver.set(.fail(status: 410))
        let (daemon, task) = fixture.start(try fixture.configuration([fixture.endpoint("main", receiver)]))
        #expect(await receiver.wait { $0.contains { $0.status == 410 } })
        try await fixture.waitForCycles(1)
        let reader = try fixture.reader()
        let disabled = "SELECT count(*) FROM webhook_endpoints_disabled WHERE endpoint = 'main'"
        let deadline = ContinuousClock.now + .seconds(10)
        while try reader.integer(disabled) == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try reader.integer(disabled) == 1)
        try await Task.sleep(for: .milliseconds(300))
        let whileDisabled = receiver.deliveries.count

        receiver.set(.accept)
        #expect(
            try OutboxMaintenance.enableEndpoint(path: fixture.database, endpoint: "main")
                == "the receiver answered 410 Gone")
        #expect(try OutboxMaintenance.enableEndpoint(path: fixture.database, endpoint: "main") == nil)
        let expected = try fixture.eventIDs()
        #expect(
            await receiver.wait(timeout: .seconds(20)) { _ in
                WebhookDeliveryTests.acknowledgedIDs(receiver) == expected
            })
        daemon.stop()
        try await task.value
        #expect(whileDisabled <= 4, "nothing is sent while disabled")
        #expect(try reader.integer(disabled) == 0)
        WebhookDeliveryTests.checkOrder(receiver.deliveries)
    }

    @Test("batch mode keeps each body within maxBatchBytes, several events per request when they fit")
    func batchBytesLimit() async throws {
        let fixture = try await Fixture(users: 40, changeProbability: 0)
        let receiver = try await WebhookReceiver(secrets: [WebhookDeliveryTests.secret])
        defer {
            Task {
                await receiver.stop()
                await fixture.simulator.stop()
            }
        }
        let (daemon, task) = fixture.start(
            try fixture.configuration([
                fixture.endpoint("main", receiver, ["mode": "batch", "maxBatchBytes": 2500, "maxConcurrentUsers": 1])
            ]))
        try await fixture.waitForCycles(1)
        let expected = try fixture.eventIDs()
        #expect(await receiver.wait { _ in WebhookDeliveryTests.acknowledgedIDs(receiver) == expected })
        daemon.stop()
        try await task.value
        #expect(receiver.deliveries.allSatisfy { $0.bodyBytes <= 2500 })
        #expect(receiver.deliveries.contains { $0.events.count > 1 })
        #expect(receiver.deliveries.allSatisfy { $0.signatureValid })
        WebhookDeliveryTests.checkOrder(receiver.deliveries)
    }
}
