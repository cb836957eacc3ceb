import Foundation
import Logging
import PresenceSync
import TestSupport
import Testing

/// `presence-sync outbox status | list --dead | purge` with the real binary.
@Suite("outbox commands", .serialized)
struct OutboxCommandTests {
    /// A configuration for the commands: `database`, stdout and one webhook endpoint named `endpoint` (its secret
    /// in the file `hook` of `directory`); returns its path.
    static func writeConfig(database: String, endpoint: String, in directory: TemporaryDirectory) throws -> String {
        let document: [String: Any] = [
            "tenantId": "contoso.onmicrosoft.com", "clientId": "11111111-2222-4333-8444-555555555555",
            "credential": ["environment": "UNUSED"], "users": ["11111111-2222-4333-8444-555555555556"],
            "database": database,
            "events": [
                "stdout": true,
                "webhooks": [["name": endpoint, "url": "https://hooks.example.com/p", "secret": ["file": "hook"]]],
            ],
        ]
        return try SimulatorSetup.writeConfig(document, in: directory)
    }

    @Test("status shows each sink's backlog and dead letters; list --dead lists them; purge keeps what is pending")
    func commands() async throws {
        let directory = TemporaryDirectory()
        let database = directory.file("p.db")
        try Data(WebhookDeliveryTests.secret.utf8).write(to: URL(fileURLWithPath: directory.file("hook")))
        let store = try PresenceStore(path: database, logger: Logger(label: "test"))
        let changes = try await store.record(
            OutboxTests.observations(round: 0),
            observedAt: Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch - 3_600_000))
        try await store.advanceOutboxCursor(sink: "stdout", through: changes[9].historyID)
        try await store.advanceOutboxCursor(sink: "webhook:main", through: changes[19].historyID)
        try await store.recordDeadLetters(
            endpoint: "main", events: [(changes[3].historyID, changes[3].userID)], attempts: 1, error: "HTTP 422")
        await store.close()
        let config = try Self.writeConfig(database: database, endpoint: "main", in: directory)

        let status = try ChildProcess(["outbox", "status", "--config", config], environment: [:])
        #expect(await status.waitForExit() == 0)
        #expect(status.standardOutput.contains("stdout: delivered through \(changes[9].historyID), backlog 10,"))
        #expect(status.standardOutput.contains("webhook:main: delivered through \(changes[19].historyID), backlog 0,"))
        #expect(status.standardOutput.contains("dead letters 1"))

        let list = try ChildProcess(["outbox", "list", "--dead", "--config", config], environment: [:])
        #expect(await list.waitForExit() == 0)
        #expect(list.outputLines.count == 1 && list.standardOutput.contains("HTTP 422"))
        #expect(list.standardOutput.contains(changes[3].userID))

        let purge = try ChildProcess(
            ["outbox", "purge", "--delivered-before", "0m", "--config", config], environment: [:])
        #expect(await purge.waitForExit() == 0)
        // Events are history rows now: only events carried over from an older file are purged (there are none).
        #expect(purge.standardOutput.contains("deleted 0 delivered events"))
        let reader = try HistoryReader(path: database)
        #expect(try reader.integer("SELECT count(*) FROM outbox") == 20)

        // `outbox enable`: an unknown endpoint is refused; a disabled one is re-enabled, once.
        let store2 = try PresenceStore(path: database, logger: Logger(label: "test"))
        try await store2.disableEndpoint("main", reason: "the receiver answered 410 Gone")
        await store2.close()
        let unknown = try ChildProcess(
            ["outbox", "enable", "--endpoint", "nope", "--config", config], environment: [:])
        #expect(await unknown.waitForExit() == 64)
        #expect(unknown.standardError.contains("no webhook endpoint named 'nope'"))
        let enable = try ChildProcess(["outbox", "enable", "--endpoint", "main", "--config", config], environment: [:])
        #expect(await enable.waitForExit() == 0)
        #expect(enable.standardOutput.contains("re-enabled main (it was disabled: the receiver answered 410 Gone)"))
        #expect(try reader.integer("SELECT count(*) FROM webhook_endpoints_disabled") == 0)
        let again = try ChildProcess(["outbox", "enable", "--endpoint", "main", "--config", config], environment: [:])
        #expect(await again.waitForExit() == 0)
        #expect(again.standardOutput.contains("main was not disabled; nothing changed"))
    }
}
