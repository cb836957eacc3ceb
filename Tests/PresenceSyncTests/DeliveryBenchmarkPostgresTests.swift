import Foundation
import PresenceSync
import Testing

@testable import PresenceSyncBenchmarks

/// The delivery benchmark's `postgresql` mode writes a mirror entry the daemon accepts.
@Suite("delivery benchmark, PostgreSQL mode")
struct DeliveryBenchmarkPostgresTests {
    @Test("the config writer's events.postgresql entry parses: URL, fresh schema, password from the environment")
    func mirrorEntryParses() throws {
        let postgres = DeliveryBenchmarkPostgres(url: "postgresql://bench@127.0.0.1:55432/bench", maxBatchEvents: 500)
        let phase = DeliveryBenchmarkPhase(
            mode: .batch, postgres: postgres, events: 1, pollUsers: 1, interval: 5, timeout: 1,
            directory: URL(fileURLWithPath: "/tmp"), executable: "/proc/self/exe")
        let environment = [DeliveryBenchmarkPostgres.passwordVariable: "secret", "CLIENT_SECRET": "client"]
        let document: [String: Any] = [
            "tenantId": "contoso.onmicrosoft.com", "clientId": "00000000-0000-0000-0000-000000000001",
            "credential": ["environment": "CLIENT_SECRET"], "users": ["a@contoso.com"], "database": "/tmp/p.db",
            "events": phase.eventsSection(webhookURL: "", environment: environment),
        ]
        let configuration = try Configuration.parse(
            JSONSerialization.data(withJSONObject: document), environment: environment)
        let mirror = try #require(configuration.events.postgresql.first)
        #expect(configuration.events.postgresql.count == 1)
        #expect(configuration.events.webhooks.isEmpty, "the mirror replaces the webhook endpoint")
        #expect(mirror.cursorName == "postgresql:bench")
        #expect(mirror.address == .tcp(host: "127.0.0.1", port: 55432))
        #expect(mirror.schema == postgres.schema && mirror.schema.hasPrefix("bench_"))
        #expect(mirror.password == .environment(DeliveryBenchmarkPostgres.passwordVariable))
        #expect(mirror.maxBatchEvents == 500)
        #expect(DeliveryBenchmarkPostgres(url: postgres.url).schema != postgres.schema, "a fresh schema per run")
    }
}
