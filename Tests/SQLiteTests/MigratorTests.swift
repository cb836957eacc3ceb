import SQLite
import Testing

@Suite("Migrator")
struct MigratorTests {
    struct NotSQLite: Error {}

    /// Each migration records itself in `log`, so a test can see exactly which ran and how often.
    static let migrations = [
        Migration(version: 1, name: "create log") { db in
            try db.execute("CREATE TABLE log (version INTEGER NOT NULL)")
            try db.execute("INSERT INTO log VALUES (1)")
        },
        Migration(version: 2, name: "add presence") { db in
            try db.execute("CREATE TABLE presence (user_id TEXT PRIMARY KEY)")
            try db.execute("INSERT INTO log VALUES (2)")
        },
        Migration(version: 3, name: "add outbox") { db in
            try db.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
            try db.execute("INSERT INTO log VALUES (3)")
        },
    ]

    private func log(_ db: Connection) throws -> [Int] {
        var versions: [Int] = []
        try db.prepare("SELECT version FROM log ORDER BY rowid").query { versions.append($0.int(0)) }
        return versions
    }

    private func tables(_ db: Connection) throws -> [String] {
        var names: [String] = []
        try db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").query {
            names.append($0.text(0) ?? "")
        }
        return names
    }

    @Test("a new database gets every migration once, in order")
    func appliesAllInOrder() throws {
        try withTemporaryDirectory { directory in
            let db = try Connection(path: directory + "/m.db")
            let result = try Migrator(Self.migrations).migrate(db)
            #expect(result.from == 0 && result.to == 3)
            #expect(try db.userVersion == 3)
            #expect(try log(db) == [1, 2, 3])
            #expect(try tables(db) == ["log", "outbox", "presence"])
        }
    }

    @Test("a second run changes nothing")
    func idempotent() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/m.db"
            try Migrator(Self.migrations).migrate(Connection(path: path))
            let db = try Connection(path: path)
            let result = try Migrator(Self.migrations).migrate(db)
            #expect(result.from == 3 && result.to == 3)
            #expect(try log(db) == [1, 2, 3])
        }
    }

    @Test("an older database gets only the migrations it lacks")
    func appliesOnlyPending() throws {
        try withTemporaryDirectory { directory in
            let db = try Connection(path: directory + "/m.db")
            try Migrator(Array(Self.migrations.prefix(1))).migrate(db)
            let result = try Migrator(Self.migrations).migrate(db)
            #expect(result.from == 1 && result.to == 3)
            #expect(try log(db) == [1, 2, 3])
        }
    }

    @Test("a database newer than the program knows is refused and left untouched")
    func refusesNewerDatabase() throws {
        try withTemporaryDirectory { directory in
            let db = try Connection(path: directory + "/m.db")
            try db.execute("CREATE TABLE future (x)")
            try db.setUserVersion(7)
            let error = try #require(throws: MigrationError.self) { try Migrator(Self.migrations).migrate(db) }
            #expect(error.newerDatabaseVersion == 7)
            #expect(
                error.description
                    == "database schema version 7 is newer than this program knows (3); refusing to touch it")
            #expect(try db.userVersion == 7)
            #expect(try tables(db) == ["future"])
        }
    }

    @Test("a failing migration leaves user_version and the schema as the previous migration left them")
    func failingMigrationRollsBack() throws {
        try withTemporaryDirectory { directory in
            let db = try Connection(path: directory + "/m.db")
            let broken =
                Self.migrations.prefix(1) + [
                    Migration(version: 2, name: "broken") { db in
                        try db.execute("CREATE TABLE half_done (x)")
                        try db.execute("INSERT INTO log VALUES (2)")
                        try db.execute("ALTER TABLE no_such_table ADD COLUMN y")
                    },
                    Self.migrations[2],
                ]
            let error = try #require(throws: SQLiteError.self) { try Migrator(Array(broken)).migrate(db) }
            #expect(error.context == "migration 2 (broken)")
            #expect(error.description.contains("while migration 2 (broken)"))
            #expect(error.sql == "ALTER TABLE no_such_table ADD COLUMN y")
            #expect(try db.userVersion == 1)
            #expect(try tables(db) == ["log"])
            #expect(try log(db) == [1])
            #expect(!db.isInTransaction)
        }
    }

    @Test("an error that is not SQLite's comes back wrapped in a MigrationError naming the migration")
    func nonSQLiteErrorIsWrapped() throws {
        let db = try Connection(path: ":memory:")
        let failing = Migration(version: 1, name: "throws") { _ in throw NotSQLite() }
        let error = try #require(throws: MigrationError.self) { try Migrator([failing]).migrate(db) }
        #expect(error.underlyingError is NotSQLite)
        #expect(error.description.hasPrefix("migration 1 (throws) failed: "))
        #expect(try db.userVersion == 0)
    }

    @Test("migration versions that are not 1, 2, 3, ... are a programming error")
    func versionsMustBeSequential() async {
        await #expect(processExitsWith: .failure) {
            _ = Migrator([Migration(version: 2, name: "skips one") { _ in }])
        }
    }
}
