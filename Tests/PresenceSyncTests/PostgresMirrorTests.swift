import Foundation
import Logging
import SQLite
import TestSupport
import Testing

@testable import PresenceSync

/// The PostgreSQL mirror against a real server (a throwaway cluster per test): what it writes, that writing again
/// changes nothing, and several tenants in one database.
@Suite("PostgreSQL mirror", .serialized)
struct PostgresMirrorTests {
    static let logger = Logger(label: "test")
    static let database = "presence"
    static let role = "mirror"

    /// A server with a database owned by the mirror's role, the role's password in a file, and the mirror's
    /// settings (TCP on loopback, password from the file, no TLS).
    struct Fixture {
        let server: PostgresServer
        let directory = TemporaryDirectory()
        let passwordFile: String
        var settings: PostgresMirrorSettings

        init(name: String = "main") throws {
            server = try PostgresServer()
            let password = "pw-\(UUID().uuidString.prefix(12))"
            try server.createDatabase(PostgresMirrorTests.database, owner: PostgresMirrorTests.role, password: password)
            passwordFile = directory.write("pg-password", password + "\n")
            settings = PostgresMirrorSettings(
                name: name, url: "postgresql://\(PostgresMirrorTests.role)@127.0.0.1:\(server.port)/presence",
                address: .tcp(host: "127.0.0.1", port: server.port), user: PostgresMirrorTests.role,
                database: PostgresMirrorTests.database, password: .file(passwordFile), tls: .disable)
            settings.retryInitialSeconds = 0.05
            settings.retryMaxSeconds = 0.5
        }

        func history(tenant: String) throws -> [String] {
            try MirrorComparison.postgresHistory(server, database: PostgresMirrorTests.database, tenant: tenant)
        }

        func current(tenant: String) throws -> [String] {
            try MirrorComparison.postgresCurrent(server, database: PostgresMirrorTests.database, tenant: tenant)
        }
    }

    /// Records `cycles` cycles of `users` users, each cycle changing a different share of them (messages with
    /// quotes, a pipe and non-ASCII text among them), one second apart.
    static func recordCycles(_ store: PresenceStore, users: Int, cycles: Range<Int>) async throws {
        let base = Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch - 3_600_000)
        for cycle in cycles {
            var observations: [PresenceObservation] = []
            for user in 0..<users {
                let phase = (user * 7 + cycle * (user % 3 + 1)) % 5
                let state = PresenceState(
                    availability: ["Available", "Busy", "Away", "DoNotDisturb", "Offline"][phase],
                    activity: ["Available", "InACall", "Away", "Presenting", "Offline"][phase],
                    statusMessage: phase == 1
                        ? "in \"a\" call | ünïcode \(user)" : (phase == 3 ? "it's 'quoted'" : nil),
                    isOutOfOffice: phase == 4 && user % 2 == 0, outOfOfficeMessage: phase == 4 ? "back monday" : nil,
                    workLocationType: phase == 2 ? nil : "office")
                observations.append(
                    PresenceObservation(
                        userID: String(format: "00000000-0000-0000-0000-%012d", user), state: state,
                        sequenceNumber: String(format: "%016X", cycle * 1000 + user)))
            }
            _ = try await store.record(
                observations,
                observedAt: Timestamp(millisecondsSinceEpoch: base.millisecondsSinceEpoch + Int64(cycle) * 1000 + 7))
        }
    }

    /// Runs `mirror` until `condition` holds (or 60 s pass); returns whether it held.
    static func mirror(_ mirror: PostgresMirror, until condition: () throws -> Bool) async -> Bool {
        let task = Task { await mirror.run() }
        defer { task.cancel() }
        let deadline = ContinuousClock.now + .seconds(60)
        var held = false
        while ContinuousClock.now < deadline {
            if (try? condition()) == true {
                held = true
                break
            }
            mirror.notify()
            try? await Task.sleep(for: .milliseconds(50))
        }
        task.cancel()
        await task.value
        return held
    }

    @Test("the mirror holds the SQLite history and current state row for row, previous rows closed")
    func holdsTheHistoryRowForRow() async throws {
        let fixture = try Fixture()
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let store = try PresenceStore(path: path, logger: Self.logger)
        try await Self.recordCycles(store, users: 40, cycles: 0..<6)
        let expected = try MirrorComparison.sqliteHistory(path)
        #expect(expected.count > 100)
        let mirror = PostgresMirror(
            settings: fixture.settings, store: store, tenantID: "tenant-a", environment: [:], logger: Self.logger)
        let done = await Self.mirror(mirror) { try fixture.history(tenant: "tenant-a").count == expected.count }
        #expect(done, "the mirror caught up: \(fixture.server.log.suffix(2000))")
        #expect(try fixture.history(tenant: "tenant-a") == expected)
        #expect(try fixture.current(tenant: "tenant-a") == MirrorComparison.sqliteCurrent(path))
        // Later changes close the rows they replace, also when the mirror was stopped in between.
        try await Self.recordCycles(store, users: 40, cycles: 6..<9)
        let grown = try MirrorComparison.sqliteHistory(path)
        let caughtUp = await Self.mirror(mirror) { try fixture.history(tenant: "tenant-a").count == grown.count }
        #expect(caughtUp)
        #expect(try fixture.history(tenant: "tenant-a") == grown)
        #expect(try fixture.current(tenant: "tenant-a") == MirrorComparison.sqliteCurrent(path))
        // A message with a NUL keeps a replacement character in its place (PostgreSQL text cannot hold U+0000).
        let nul = PresenceObservation(
            userID: "00000000-0000-0000-0000-000000000000",
            state: PresenceState(availability: "Busy", activity: "InACall", statusMessage: "nul\u{0}byte"))
        _ = try await store.record([nul], observedAt: Timestamp.now())
        let withNUL = await Self.mirror(mirror) {
            try fixture.server.psql(
                "SELECT status_message FROM presence_sync.current WHERE user_id = '\(nul.userID)'",
                database: Self.database) == ["nul\u{FFFD}byte"]
        }
        #expect(withNUL)
        await store.close()
    }
}
