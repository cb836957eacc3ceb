import Foundation
import PresenceSync
import Testing

/// `events.webhooks[].startFrom`: now, snapshot or a past ISO-8601 time; anything else names the key.
@Suite("Webhook startFrom configuration")
struct StartFromConfigurationTests {
    static func endpoint(_ startFrom: Any?) throws -> WebhookEndpoint {
        var endpoint = WebhookConfigurationTests.base
        endpoint["startFrom"] = startFrom
        return try #require(try WebhookConfigurationTests.parse(endpoint).events.webhooks.first)
    }

    @Test("absent, now, snapshot and times with a zone parse")
    func valid() throws {
        #expect(try Self.endpoint(nil).startFrom == nil)
        #expect(try Self.endpoint("now").startFrom == .now)
        #expect(try Self.endpoint("snapshot").startFrom == .snapshot)
        let utc = Timestamp(iso8601: "2026-11-29T08:00:00.000Z")
        #expect(try Self.endpoint("2026-11-29T08:00:00Z").startFrom == utc.map { .time($0) })
        #expect(try Self.endpoint("2026-11-29T09:00:00.000+01:00").startFrom == utc.map { .time($0) })
    }

    @Test(
        "bad values are refused with the key named",
        arguments: [
            ("yesterday", "is not \"now\""), ("Snapshot", "is not \"now\""), ("2026-11-29T08:00:00", "with a zone"),
            ("2026-13-01T00:00:00Z", "is not \"now\""), ("2999-01-01T00:00:00Z", "in the future"),
        ])
    func invalid(value: String, problem: String) throws {
        do {
            _ = try Self.endpoint(value)
            Issue.record("accepted \(value)")
        } catch let error as ConfigError {
            #expect(error.key == "events.webhooks[0].startFrom")
            #expect(error.problem.contains(problem), "\(error.problem)")
        }
    }

    @Test("a number is refused with the key named")
    func notAString() throws {
        #expect(throws: ConfigError.self) { _ = try Self.endpoint(5) }
        do {
            _ = try Self.endpoint(5)
        } catch let error as ConfigError {
            #expect(error.key == "events.webhooks[0].startFrom")
        }
    }
}
