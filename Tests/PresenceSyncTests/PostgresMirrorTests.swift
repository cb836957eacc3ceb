import Foundation
import InMemoryLogging
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

        init(name: String = "main", tls: Bool = false) throws {
            server = try PostgresServer(tls: tls)
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

        /// A mirror of `store` with these settings, its rows tagged `tenant`.
        func mirror(_ store: PresenceStore, tenant: String) -> PostgresMirror {
            PostgresMirror(
                settings: settings, store: store, tenantID: tenant, environment: [:], logger: PostgresMirrorTests.logger
            )
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
    static func mirror(_ mirror: PostgresMirror, until condition: () async throws -> Bool) async -> Bool {
        let task = Task { await mirror.run() }
        let held = await eventually {
            mirror.notify()
            return try await condition()
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
        let mirror = fixture.mirror(store, tenant: "tenant-a")
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

extension PostgresMirrorTests {
    @Test("a page sent again (a lost cursor, a retry) leaves the mirror exactly as it was")
    func resendChangesNothing() async throws {
        let fixture = try Fixture()
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let store = try PresenceStore(path: path, logger: Self.logger)
        try await Self.recordCycles(store, users: 30, cycles: 0..<5)
        let expected = try MirrorComparison.sqliteHistory(path)
        let mirror = fixture.mirror(store, tenant: "t")
        #expect(await Self.mirror(mirror) { try fixture.history(tenant: "t").count == expected.count })
        let before = try fixture.history(tenant: "t")
        let currentBefore = try fixture.current(tenant: "t")
        // The cursor is lost: a new mirror (same name) sends the whole window again.
        let writer = try Connection(path: path)
        try writer.execute("DELETE FROM outbox_cursors WHERE sink = 'postgresql:main'")
        try writer.close()
        let again = fixture.mirror(store, tenant: "t")
        let last = try #require(Int64(expected.last?.split(separator: "|").first ?? ""))
        #expect(await Self.mirror(again) { try await store.outboxCursor(sink: "postgresql:main") >= last })
        #expect(try fixture.history(tenant: "t") == before)
        #expect(try fixture.current(tenant: "t") == currentBefore)
        #expect(before == expected)
        await store.close()
    }

    @Test("two tenants mirror into one database and one query spans them")
    func twoTenantsOneDatabase() async throws {
        let fixture = try Fixture()
        let directory = TemporaryDirectory()
        var stores: [PresenceStore] = []
        for (index, tenant) in ["contoso", "fabrikam"].enumerated() {
            let store = try PresenceStore(path: directory.file("\(tenant).db"), logger: Self.logger)
            try await Self.recordCycles(store, users: 10 + index * 5, cycles: 0..<3)
            let mirror = fixture.mirror(store, tenant: tenant)
            let rows = try MirrorComparison.sqliteHistory(directory.file("\(tenant).db"))
            #expect(await Self.mirror(mirror) { try fixture.history(tenant: tenant).count == rows.count })
            #expect(try fixture.history(tenant: tenant) == rows)
            stores.append(store)
        }
        let perTenant = try fixture.server.psql(
            "SELECT tenant_id, count(*) FROM presence_sync.current GROUP BY tenant_id ORDER BY tenant_id",
            database: Self.database)
        #expect(perTenant == ["contoso|10", "fabrikam|15"])
        // The README's PostgreSQL queries run on such a database as written.
        let readme = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
                "../../README.md"), encoding: .utf8)
        let blocks = readme.components(separatedBy: "```postgresql\n").dropFirst()
            .compactMap { $0.components(separatedBy: "```").first }
        #expect(!blocks.isEmpty)
        for block in blocks {
            let rows = try fixture.server.psql(block, database: Self.database)
            #expect(rows.allSatisfy { $0.hasPrefix("contoso|") || $0.hasPrefix("fabrikam|") }, "\(rows)")
        }
        for store in stores { await store.close() }
    }

    /// Runs a mirror over a store with a few changes until `logs` holds an error naming the mirror and `cause`.
    static func failure(
        _ settings: PostgresMirrorSettings, environment: [String: String] = [:], cause: String
    ) async throws -> Bool {
        let directory = TemporaryDirectory()
        let store = try PresenceStore(path: directory.file("p.db"), logger: logger)
        try await recordCycles(store, users: 5, cycles: 0..<2)
        let logs = InMemoryLogHandler()
        var logger = Logger(label: "mirror-failure") { _ in logs }
        logger.logLevel = .info
        let mirror = PostgresMirror(
            settings: settings, store: store, tenantID: "t", environment: environment, logger: logger)
        let logged = await Self.mirror(mirror) {
            logs.entries.contains { entry in
                entry.level == .error && entry.metadata["sink"] == "postgresql:\(settings.name)"
                    && "\(entry.metadata["error"] ?? "")".contains(cause)
            }
        }
        if !logged {
            let errors = logs.entries.filter { $0.level == .error }.map { "\($0.metadata["error"] ?? "")" }
            Issue.record("no error naming '\(cause)'; logged: \(errors.prefix(3))")
        }
        // Still failing, still retrying: nothing was written and the cursor did not move.
        #expect(try await store.outboxCursor(sink: settings.cursorName) == 0)
        #expect(
            logs.entries.allSatisfy { !"\($0.message) \($0.metadata)".contains(environment["PGPASS"] ?? "\u{1}") })
        await store.close()
        return logged
    }

    @Test("a wrong password, a missing permission, a schema that is not ours: an error naming the mirror and why")
    func failuresNameTheCause() async throws {
        let fixture = try Fixture()
        var wrongPassword = fixture.settings
        wrongPassword.password = .environment("PGPASS")
        #expect(try await Self.failure(wrongPassword, environment: ["PGPASS": "not-it-42"], cause: "wrong password"))

        try fixture.server.psql("CREATE ROLE reader LOGIN PASSWORD 'reader-pw'")
        var noPermission = fixture.settings
        noPermission.user = "reader"
        noPermission.password = .environment("PGPASS")
        #expect(
            try await Self.failure(
                noPermission, environment: ["PGPASS": "reader-pw"], cause: "lacks a permission"))

        try fixture.server.psql(
            "CREATE SCHEMA crm AUTHORIZATION mirror; CREATE TABLE crm.accounts (id int)", database: Self.database)
        var foreign = fixture.settings
        foreign.schema = "crm"
        #expect(try await Self.failure(foreign, cause: "not presence-sync's"))

        var unreachable = fixture.settings
        unreachable.address = .tcp(host: "127.0.0.1", port: 1)
        #expect(try await Self.failure(unreachable, cause: "cannot connect to 127.0.0.1:1"))
    }

    @Test("while the server is down the changes wait; they are all written once it is back")
    func serverDownThenBack() async throws {
        let fixture = try Fixture()
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let store = try PresenceStore(path: path, logger: Self.logger)
        try await Self.recordCycles(store, users: 20, cycles: 0..<2)
        let mirror = fixture.mirror(store, tenant: "t")
        let task = Task { await mirror.run() }
        let first = try MirrorComparison.sqliteHistory(path).count
        _ = await eventually { try fixture.history(tenant: "t").count == first }
        try fixture.server.stop()
        try await Self.recordCycles(store, users: 20, cycles: 2..<6)
        mirror.notify()
        let cursorWhileDown = try await store.outboxCursor(sink: "postgresql:main")
        #expect(try await store.outboxBacklog(sink: "postgresql:main").count > 0)
        try fixture.server.start()
        let expected = try MirrorComparison.sqliteHistory(path)
        _ = await eventually { try fixture.history(tenant: "t") == expected }
        task.cancel()
        await task.value
        #expect(try fixture.history(tenant: "t") == expected)
        #expect(try await store.outboxCursor(sink: "postgresql:main") > cursorWhileDown)
        await store.close()
    }
}

extension PostgresMirrorTests {
    @Test("startFrom snapshot: every user's row as of the start, then the changes after it, current equal to SQLite")
    func snapshotThenChanges() async throws {
        var fixture = try Fixture()
        fixture.settings.startFrom = .snapshot
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let store = try PresenceStore(path: path, logger: Self.logger)
        try await Self.recordCycles(store, users: 40, cycles: 0..<4)
        let asOf = try HistoryReader(path: path).integer("SELECT max(id) FROM presence_history")
        let mirror = fixture.mirror(store, tenant: "t")
        #expect(await Self.mirror(mirror) { try fixture.current(tenant: "t") == MirrorComparison.sqliteCurrent(path) })
        #expect(try fixture.history(tenant: "t").count == 40, "one row per user: its state as of the snapshot")
        try await Self.recordCycles(store, users: 40, cycles: 4..<7)
        let later = try HistoryReader(path: path).integer("SELECT count(*) FROM presence_history WHERE id > \(asOf)")
        #expect(await Self.mirror(mirror) { try fixture.history(tenant: "t").count == 40 + later })
        let sqlite = Set(try MirrorComparison.sqliteHistory(path))
        let mirrored = try fixture.history(tenant: "t")
        #expect(mirrored.allSatisfy { sqlite.contains($0) }, "every mirrored row is the SQLite row, closed alike")
        #expect(try fixture.current(tenant: "t") == MirrorComparison.sqliteCurrent(path))
        #expect(try await store.outboxBackfill(sink: "postgresql:main") == nil)
        await store.close()
    }

    @Test("a replay fills in rows the mirror lost, and leaves the others as they are")
    func replayFillsIn() async throws {
        let fixture = try Fixture()
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let store = try PresenceStore(path: path, logger: Self.logger)
        try await Self.recordCycles(store, users: 25, cycles: 0..<5)
        let expected = try MirrorComparison.sqliteHistory(path)
        let mirror = fixture.mirror(store, tenant: "t")
        #expect(await Self.mirror(mirror) { try fixture.history(tenant: "t").count == expected.count })
        try fixture.server.psql("DELETE FROM presence_sync.history WHERE id % 3 = 0", database: Self.database)
        #expect(try fixture.history(tenant: "t").count < expected.count)
        _ = try await store.requestReplay(
            sink: "postgresql:main", since: Timestamp(millisecondsSinceEpoch: 0))
        #expect(await Self.mirror(mirror) { try fixture.history(tenant: "t") == expected })
        #expect(try await store.outboxBackfill(sink: "postgresql:main") == nil)
        await store.close()
    }
}

extension PostgresMirrorTests {
    @Test("TLS: require and verify-full (with the server's CA) connect; verify-full without it and disable do not")
    func tls() async throws {
        let fixture = try Fixture(tls: true)
        let certificate = try #require(fixture.server.certificateFile)
        let copy = fixture.directory.write("server-ca.pem", try String(contentsOfFile: certificate, encoding: .utf8))
        var require = fixture.settings
        require.tls = .require
        var verified = fixture.settings
        verified.tls = .verifyFull
        verified.caFile = copy
        for (index, settings) in [require, verified].enumerated() {
            let directory = TemporaryDirectory()
            let store = try PresenceStore(path: directory.file("p.db"), logger: Self.logger)
            try await Self.recordCycles(store, users: 5, cycles: 0..<2)
            let rows = try MirrorComparison.sqliteHistory(directory.file("p.db"))
            let mirror = PostgresMirror(
                settings: settings, store: store, tenantID: "tls-\(index)", environment: [:], logger: Self.logger)
            #expect(
                await Self.mirror(mirror) { try fixture.history(tenant: "tls-\(index)") == rows },
                "\(settings.tls.rawValue) mirrors")
            await store.close()
        }
        var untrusted = fixture.settings
        untrusted.tls = .verifyFull
        #expect(try await Self.failure(untrusted, cause: "TLS certificate is not trusted"))
        // pg_hba.conf takes TCP sign-ins over TLS only.
        #expect(try await Self.failure(fixture.settings, cause: "refuses user"))
    }
}
