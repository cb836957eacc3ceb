import SQLite
import Testing

@Suite("Connection")
struct ConnectionTests {
    @Test("opening a new path creates the database file")
    func openCreates() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/new.db"
            let db = try Connection(path: path)
            try db.execute("CREATE TABLE t (x)")
            #expect(fileExists(path))
            #expect(db.path == path)
        }
    }

    @Test("opening a missing file read-only fails with SQLITE_CANTOPEN and names the path")
    func openMissingReadOnly() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/missing.db"
            let error = try #require(throws: SQLiteError.self) { try Connection(path: path, mode: .readOnly) }
            #expect(error.primaryCode == 14)
            #expect(error.context == "opening \(path)")
            #expect(error.description.contains(path))
            #expect(!fileExists(path))
        }
    }

    @Test("readWrite mode does not create a missing file")
    func readWriteDoesNotCreate() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/missing.db"
            #expect(throws: SQLiteError.self) { try Connection(path: path, mode: .readWrite) }
            #expect(!fileExists(path))
        }
    }

    @Test("a read-only connection reads but refuses writes with SQLITE_READONLY")
    func readOnlyRefusesWrites() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/ro.db"
            try Connection(path: path).execute("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            let reader = try Connection(path: path, mode: .readOnly)
            #expect(try reader.prepare("SELECT x FROM t").queryOne { $0.int(0) } == 1)
            let error = try #require(throws: SQLiteError.self) { try reader.execute("INSERT INTO t VALUES (2)") }
            #expect(error.primaryCode == 8)
        }
    }

    @Test("execute runs several statements; changes and lastInsertRowID describe the last insert")
    func executeScript() throws {
        let db = try Connection(path: ":memory:")
        try db.execute(
            """
            CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT);
            INSERT INTO t (x) VALUES ('a');
            INSERT INTO t (x) VALUES ('b'), ('c');
            """
        )
        #expect(db.changes == 2)
        #expect(db.lastInsertRowID == 3)
        #expect(try db.prepare("SELECT count(*) FROM t").queryOne { $0.int(0) } == 3)
    }

    @Test("user_version starts at 0 and persists in the file")
    func userVersionPersists() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/v.db"
            do {
                let db = try Connection(path: path)
                #expect(try db.userVersion == 0)
                try db.setUserVersion(42)
                #expect(try db.userVersion == 42)
                try db.close()
            }
            #expect(try Connection(path: path, mode: .readOnly).userVersion == 42)
        }
    }

    @Test("pragma reads one value and refuses anything that is not a pragma name")
    func pragma() throws {
        let db = try Connection(path: ":memory:")
        #expect(try db.pragma("user_version") == .integer(0))
        #expect(try db.pragma("main.user_version") == .integer(0))
        #expect(try db.pragma("foreign_keys") == .integer(0))
        let error = try #require(throws: SQLiteError.self) { try db.pragma("user_version; DROP TABLE x") }
        #expect(error.primaryCode == 21)
    }

    @Test("enableWriteAheadLogging switches a file to WAL, persistently")
    func enableWAL() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/wal.db"
            try Connection(path: path).enableWriteAheadLogging()
            #expect(try Connection(path: path).pragma("journal_mode") == .text("wal"))
            try Connection(path: ":memory:").enableWriteAheadLogging()
        }
    }

    @Test("close is idempotent and using a closed connection throws SQLITE_MISUSE naming the path")
    func closeIsIdempotent() throws {
        let db = try Connection(path: ":memory:")
        _ = try db.cachedStatement("SELECT 1")
        try db.close()
        try db.close()
        #expect(!db.isInTransaction)
        let error = try #require(throws: SQLiteError.self) { try db.execute("SELECT 1") }
        #expect(error.primaryCode == 21)
        #expect(error.description.contains(":memory:"))
        #expect(throws: SQLiteError.self) { try db.prepare("SELECT 1") }
    }

    @Test("prepare accepts one statement with trailing semicolons and comments, and refuses a second statement")
    func prepareOneStatement() throws {
        let db = try Connection(path: ":memory:")
        _ = try db.prepare("SELECT 1;  -- trailing comment\n ; ")
        let error = try #require(throws: SQLiteError.self) { try db.prepare("SELECT 1; SELECT 2") }
        #expect(error.primaryCode == 21)
        #expect(error.sql == "SELECT 1; SELECT 2")
        #expect(throws: SQLiteError.self) { try db.prepare("  -- only a comment") }
    }

    @Test("double-quoted words are identifiers, never string literals")
    func noDoubleQuotedStrings() throws {
        let db = try Connection(path: ":memory:")
        try db.execute("CREATE TABLE t (status TEXT)")
        let error = try #require(throws: SQLiteError.self) {
            try db.execute("INSERT INTO t (status) VALUES (\"Available\")")
        }
        #expect(error.message.contains("no such column"))
    }

    @Test("defensive mode refuses writable_schema tricks that could corrupt the file")
    func defensiveMode() throws {
        let db = try Connection(path: ":memory:")
        try db.execute("CREATE TABLE t (x)")
        try db.execute("PRAGMA writable_schema = ON")
        #expect(throws: SQLiteError.self) { try db.execute("DELETE FROM sqlite_schema WHERE name = 't'") }
    }
}
