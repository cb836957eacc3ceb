import Foundation
import Testing

@testable import PresenceSync

/// Which settings a reload applies live, and which it reports as needing a restart.
@Suite("configuration reload")
struct ConfigurationReloadTests {
    static func configuration(
        _ extra: [String: Any] = [:], environment: [String: String] = [:]
    ) throws -> Configuration {
        var document: [String: Any] = [
            "tenantId": "contoso.onmicrosoft.com", "clientId": "11111111-2222-3333-4444-555555555555",
            "credential": ["environment": "SECRET"], "users": ["00000000-0000-4000-8000-00000000a11c"],
            "database": "/tmp/p.db",
        ]
        for (key, value) in extra { document[key] = value }
        return try Configuration.parse(JSONSerialization.data(withJSONObject: document), environment: environment)
    }

    @Test("users, polling and the log level apply live")
    func live() throws {
        let running = try Self.configuration()
        let new = try Self.configuration([
            "users": ["00000000-0000-4000-8000-00000000b0b0", "00000000-0000-4000-8000-00000000ca7e"],
            "polling": ["intervalSeconds": 5, "batchSize": 100, "maxConcurrentRequests": 2], "logLevel": "debug",
        ])
        let reload = running.reloaded(with: new)
        #expect(reload.configuration == new)
        #expect(reload.needsRestart == [])
    }

    @Test("identity, hosts, database and timeouts keep their running values and are named")
    func restartOnly() throws {
        let running = try Self.configuration()
        let new = try Self.configuration([
            "tenantId": "fabrikam.onmicrosoft.com", "database": "/tmp/other.db",
            "polling": ["requestTimeoutSeconds": 5, "intervalSeconds": 7], "events": ["source": "urn:other"],
        ])
        let reload = running.reloaded(with: new)
        #expect(reload.configuration.tenantID == running.tenantID)
        #expect(reload.configuration.databasePath == "/tmp/p.db")
        #expect(reload.configuration.polling.requestTimeoutSeconds == running.polling.requestTimeoutSeconds)
        #expect(reload.configuration.polling.intervalSeconds == 7)
        #expect(reload.configuration.events == running.events)
        #expect(reload.needsRestart == ["tenantId", "database", "polling.requestTimeoutSeconds", "events.source"])
    }

    @Test("the event sinks apply live: standard output on or off, webhook endpoints added or removed")
    func sinksLive() throws {
        let running = try Self.configuration()
        let new = try Self.configuration(
            [
                "events": [
                    "stdout": false,
                    "webhooks": [["name": "crm", "url": "http://127.0.0.1:9/hook", "secret": ["environment": "WH"]]],
                ]
            ], environment: ["WH": WebhookDeliveryTests.secret])
        let reload = running.reloaded(with: new)
        #expect(reload.configuration.events.stdout == false)
        #expect(reload.configuration.events.webhooks.map(\.name) == ["crm"])
        #expect(reload.configuration.events.source == running.events.source)
        #expect(reload.needsRestart == [])
    }
}
