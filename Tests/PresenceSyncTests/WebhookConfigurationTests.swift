import Foundation
import PresenceSync
import TestSupport
import Testing

/// `events.webhooks`: every value validated, every error naming its key and never a secret.
@Suite("Webhook configuration")
struct WebhookConfigurationTests {
    static let secret = WebhookDeliveryTests.secret

    static func parse(_ endpoint: [String: Any], environment: [String: String]? = nil) throws -> Configuration {
        let document: [String: Any] = [
            "tenantId": "contoso.onmicrosoft.com", "clientId": "11111111-2222-4333-8444-555555555555",
            "credential": ["environment": "UNUSED"], "users": ["11111111-2222-4333-8444-555555555556"],
            "database": "/tmp/x.db", "events": ["webhooks": [endpoint]],
        ]
        return try Configuration.parse(
            JSONSerialization.data(withJSONObject: document), environment: environment ?? ["HOOK": secret])
    }

    static var base: [String: Any] {
        ["name": "main", "url": "https://hooks.example.com/p", "secret": ["environment": "HOOK"]]
    }

    static func with(_ changes: [String: Any]) -> [String: Any] {
        var endpoint = base
        for (key, value) in changes { endpoint[key] = value }
        return endpoint
    }

    @Test("a full endpoint parses, with defaults where nothing is given")
    func full() throws {
        let configuration = try Self.parse(
            Self.with([
                "mode": "batch", "maxBatchEvents": 50, "headers": ["Authorization": "Bearer x"], "timeoutSeconds": 5,
                "secrets": [["environment": "HOOK"]],
            ]))
        let endpoint = try #require(configuration.events.webhooks.first)
        #expect(endpoint.mode == .batch && endpoint.maxBatchEvents == 50 && endpoint.secrets.count == 2)
        #expect(endpoint.headers.map(\.name) == ["Authorization"] && endpoint.maxConcurrentUsers == 8)
        #expect(endpoint.retryWindowHours == 24 && endpoint.cursorName == "webhook:main")
        #expect(configuration.events.outboxSinks == ["stdout", "webhook:main"])
    }

    @Test(
        "invalid endpoints are refused, naming the key",
        arguments: [
            (#"{"url": "http://hooks.example.com/p"}"#, "events.webhooks[0].url", "loopback"),
            (#"{"url": "ftp://hooks.example.com/p"}"#, "events.webhooks[0].url", "not supported"),
            (#"{"name": "a b"}"#, "events.webhooks[0].name", "letters"),
            (#"{"mode": "fast"}"#, "events.webhooks[0].mode", "not a mode"),
            (#"{"headers": {"Bad Name": "x"}}"#, "events.webhooks[0].headers.Bad Name", "not a valid header name"),
            (#"{"headers": {"Webhook-Signature": "x"}}"#, "events.webhooks[0].headers.Webhook-Signature", "set by"),
            (#"{"headers": {"X-A": "a\r\nb"}}"#, "events.webhooks[0].headers.X-A", "control characters"),
            (#"{"maxConcurrentUsers": 0}"#, "events.webhooks[0].maxConcurrentUsers", "out of range"),
            (#"{"retryInitialSeconds": 10, "retryMaxSeconds": 5}"#, "events.webhooks[0].retryMaxSeconds", "below"),
            (#"{"colour": "blue"}"#, "events.webhooks[0].colour", "unknown key"),
            (#"{"secret": {"value": "whsec_x"}}"#, "events.webhooks[0].secret.value", "inline secrets"),
            (#"{"secret": {"environment": "MISSING"}}"#, "events.webhooks[0].secret", "not set"),
        ])
    func invalid(changesJSON: String, key: String, problem: String) throws {
        let changes = try #require(try JSONSerialization.jsonObject(with: Data(changesJSON.utf8)) as? [String: Any])
        do {
            _ = try Self.parse(Self.with(changes))
            Issue.record("accepted \(changesJSON)")
        } catch let error as ConfigError {
            #expect(error.key == key)
            #expect(error.problem.contains(problem), "\(error.problem)")
        }
    }

    @Test("a malformed secret is refused without showing it; two endpoints may not share a name")
    func secretAndNames() throws {
        do {
            _ = try Self.parse(Self.base, environment: ["HOOK": "whsec_bm90LWxvbmctZW5vdWdo"])
            Issue.record("accepted a short key")
        } catch let error as ConfigError {
            #expect(error.description.contains("environment variable HOOK"))
            #expect(!error.description.contains("bm90LWxvbmctZW5vdWdo"))
        }
        let document: [String: Any] = [
            "tenantId": "contoso.onmicrosoft.com", "clientId": "11111111-2222-4333-8444-555555555555",
            "credential": ["environment": "UNUSED"], "users": ["11111111-2222-4333-8444-555555555556"],
            "events": ["webhooks": [Self.base, Self.base]],
        ]
        #expect(throws: ConfigError.self) {
            try Configuration.parse(
                JSONSerialization.data(withJSONObject: document), environment: ["HOOK": Self.secret])
        }
    }
}
