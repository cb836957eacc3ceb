import SQLite
import Testing

@Suite("Transactions")
struct TransactionTests {
    struct BodyFailed: Error, Equatable { let reason: String }

    private func makeDatabase(_ directory: String) throws -> Connection {
        let db = try Connection(path: directory + "/tx.db")
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)")
        return db
    }

    private func count(_ db: Connection) throws -> Int {
        try db.prepare("SELECT count(*) FROM t").queryOne { $0.int(0) } ?? -1
    }

    @Test(
        "the body's result is returned and its writes are committed",
        arguments: [
            TransactionKind.deferred, .immediate, .exclusive,
        ])
    func commitsOnReturn(kind: TransactionKind) throws {
        try withTemporaryDirectory { directory in
            let db = try makeDatabase(directory)
            let id = try db.inTransaction(kind) {
                #expect(db.isInTransaction)
                try db.prepare("INSERT INTO t (x) VALUES (?)").execute(["kept"])
                return db.lastInsertRowID
            }
            #expect(id == 1)
            #expect(!db.isInTransaction)
            #expect(
                try Connection(path: db.path, mode: .readOnly).prepare("SELECT x FROM t").queryOne { $0.text(0) }
                    == "kept")
        }
    }

    @Test("when the body throws, its writes are rolled back and its own error comes out")
    func rollsBackOnThrow() throws {
        try withTemporaryDirectory { directory in
            let db = try makeDatabase(directory)
            let error = try #require(throws: BodyFailed.self) {
                try db.inTransaction {
                    try db.execute("INSERT INTO t (x) VALUES ('discarded')")
                    #expect(try count(db) == 1)
                    throw BodyFailed(reason: "changed my mind")
                }
            }
            #expect(error == BodyFailed(reason: "changed my mind"))
            #expect(!db.isInTransaction)
            #expect(try count(db) == 0)
        }
    }

    @Test("a SQLite error inside the body rolls back everything the body did before it")
    func sqliteErrorInBody() throws {
        try withTemporaryDirectory { directory in
            let db = try makeDatabase(directory)
            let error = try #require(throws: SQLiteError.self) {
                try db.inTransaction {
                    try db.execute("INSERT INTO t (id, x) VALUES (1, 'a')")
                    try db.execute("INSERT INTO t (id, x) VALUES (1, 'duplicate')")
                }
            }
            #expect(error.extendedCode == 1555)
            #expect(try count(db) == 0)
        }
    }

    @Test("a nested inTransaction throws SQLITE_MISUSE and leaves the outer transaction to decide")
    func nestedIsRefused() throws {
        try withTemporaryDirectory { directory in
            let db = try makeDatabase(directory)
            try db.inTransaction {
                try db.execute("INSERT INTO t (x) VALUES ('outer')")
                let error = try #require(throws: SQLiteError.self) { try db.inTransaction { 1 } }
                #expect(error.primaryCode == 21)
                #expect(db.isInTransaction)
            }
            #expect(try count(db) == 1)
        }
    }

    @Test("when COMMIT fails (deferred foreign key), the transaction is rolled back and the error says so")
    func failedCommitRollsBack() throws {
        try withTemporaryDirectory { directory in
            let db = try Connection(path: directory + "/fk.db")
            try db.execute(
                """
                PRAGMA foreign_keys = ON;
                CREATE TABLE parent (id INTEGER PRIMARY KEY);
                CREATE TABLE child (parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
                """
            )
            let error = try #require(throws: SQLiteError.self) {
                try db.inTransaction { try db.execute("INSERT INTO child VALUES (42)") }
            }
            #expect(error.extendedCode == 787)
            #expect(error.context?.contains("committing") == true)
            #expect(!db.isInTransaction)
            #expect(try db.prepare("SELECT count(*) FROM child").queryOne { $0.int(0) } == 0)
        }
    }
}
