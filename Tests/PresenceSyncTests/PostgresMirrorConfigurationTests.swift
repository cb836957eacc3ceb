import Foundation
import PresenceSync
import TestSupport
import Testing

/// `events.postgresql`: every value validated without connecting, every error naming its key and never a password.
@Suite("PostgreSQL mirror configuration")
struct PostgresMirrorConfigurationTests {
    static func parse(_ mirror: [String: Any], environment: [String: String] = ["PGPASS": "s3cret"]) throws
        -> Configuration
    {
        let document: [String: Any] = [
            "tenantId": "contoso.onmicrosoft.com", "clientId": "11111111-2222-4333-8444-555555555555",
            "credential": ["environment": "UNUSED"], "users": ["11111111-2222-4333-8444-555555555556"],
            "database": "/tmp/x.db", "events": ["postgresql": [mirror]],
        ]
        return try Configuration.parse(JSONSerialization.data(withJSONObject: document), environment: environment)
    }

    static func with(_ changes: [String: Any]) -> [String: Any] {
        var mirror: [String: Any] = [
            "name": "warehouse", "url": "postgresql://presence@db.example.com:6432/analytics",
            "password": ["environment": "PGPASS"],
        ]
        for (key, value) in changes { mirror[key] = value }
        return mirror
    }

    @Test("a remote mirror parses with verify-full by default; its cursor is a sink like any other")
    func remote() throws {
        let configuration = try Self.parse(Self.with([:]))
        let mirror = try #require(configuration.events.postgresql.first)
        #expect(mirror.address == .tcp(host: "db.example.com", port: 6432))
        #expect(mirror.user == "presence" && mirror.database == "analytics" && mirror.tls == .verifyFull)
        #expect(mirror.schema == "presence_sync" && mirror.password == .environment("PGPASS"))
        #expect(configuration.events.outboxSinks == ["stdout", "postgresql:warehouse"])
    }

    @Test("a Unix socket (libpq's host=/directory) and a loopback host default to no TLS")
    func local() throws {
        let socket = try #require(
            try Self.parse(Self.with(["url": "postgresql://presence@/analytics?host=/run/postgresql/"]))
                .events.postgresql.first)
        #expect(socket.address == .unixSocket(path: "/run/postgresql/.s.PGSQL.5432") && socket.tls == .disable)
        let loopback = try #require(
            try Self.parse(Self.with(["url": "postgres://presence@127.0.0.1/analytics", "schema": "tenant_a"]))
                .events.postgresql.first)
        #expect(loopback.tls == .disable && loopback.schema == "tenant_a" && loopback.isLocal)
    }

    @Test(
        "invalid mirrors are refused, naming the key",
        arguments: [
            (#"{"url": "postgresql://presence:pw@db.example.com/analytics"}"#, "url", "must not carry a password"),
            (#"{"url": "mysql://presence@db.example.com/analytics"}"#, "url", "not supported"),
            (#"{"url": "postgresql://db.example.com/analytics"}"#, "url", "names no user"),
            (#"{"url": "postgresql://presence@db.example.com/"}"#, "url", "names no database"),
            (#"{"url": "postgresql://presence@db.example.com/a?sslmode=require"}"#, "url", "not supported here"),
            (#"{"tls": "disable"}"#, "tls", "only over a Unix socket or to a loopback host"),
            (#"{"tls": "prefer"}"#, "tls", "not one of"),
            (#"{"caFile": "/nonexistent/ca.pem"}"#, "caFile", "does not exist"),
            (#"{"schema": "Presence"}"#, "schema", "lower-case"),
            (#"{"schema": "pg_catalog"}"#, "schema", "reserved"),
            (#"{"password": {"environment": "MISSING"}}"#, "password", "not set"),
            (#"{"password": {"value": "pw"}}"#, "password.value", "inline secrets"),
            (#"{"name": "a b"}"#, "name", "letters"),
            (#"{"maxBatchEvents": 0}"#, "maxBatchEvents", "out of range"),
            (#"{"port": 5432}"#, "port", "unknown key"),
        ])
    func invalid(changesJSON: String, key: String, problem: String) throws {
        let changes = try #require(try JSONSerialization.jsonObject(with: Data(changesJSON.utf8)) as? [String: Any])
        do {
            _ = try Self.parse(Self.with(changes))
            Issue.record("accepted \(changesJSON)")
        } catch let error as ConfigError {
            #expect(error.key == "events.postgresql[0].\(key)")
            #expect(error.problem.contains(problem), "\(error.problem)")
            #expect(!error.description.contains("s3cret"))
        }
    }

    @Test("check-config refuses a password in the URL with exit 78 and names the key, without connecting")
    func checkConfigExit() async throws {
        let directory = TemporaryDirectory()
        let document: [String: Any] = [
            "tenantId": "contoso.onmicrosoft.com", "clientId": "11111111-2222-4333-8444-555555555555",
            "credential": ["environment": "UNUSED"], "users": ["11111111-2222-4333-8444-555555555556"],
            "database": directory.file("p.db"),
            "events": ["postgresql": [Self.with(["url": "postgresql://presence:hunter2@db.example.com/analytics"])]],
        ]
        let config = directory.write(
            "config.json", String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self))
        var environment = ProcessInfo.processInfo.environment
        environment["UNUSED"] = "x"
        environment["PGPASS"] = "s3cret"
        let process = try ChildProcess(["check-config", "--config", config], environment: environment)
        #expect(await process.waitForExit() == 78)
        #expect(process.standardError.contains("events.postgresql[0].url"))
        #expect(!process.standardError.contains("hunter2") && !process.standardOutput.contains("hunter2"))
    }
}
