import SQLite
import Testing

/// Two connections to one file in the same process behave like two processes would: WAL lets readers run beside
/// a writer, and a second writer waits for the busy timeout and then gets SQLITE_BUSY.
@Suite("Concurrent access")
struct ConcurrentAccessTests {
    private func makeWALDatabase(_ path: String) throws -> Connection {
        let db = try Connection(path: path)
        try db.enableWriteAheadLogging()
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)")
        return db
    }

    @Test("a read-only connection sees committed rows while a write transaction is open, but not its rows")
    func readerBesideWriter() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/wal.db"
            let writer = try makeWALDatabase(path)
            try writer.execute("INSERT INTO t (x) VALUES ('committed')")
            let reader = try Connection(path: path, mode: .readOnly, busyTimeoutMilliseconds: 100)
            let readAll = { () throws -> [String] in
                var rows: [String] = []
                try reader.prepare("SELECT x FROM t ORDER BY id").query { rows.append($0.text(0) ?? "") }
                return rows
            }
            try writer.execute("BEGIN IMMEDIATE")
            try writer.execute("INSERT INTO t (x) VALUES ('uncommitted')")
            #expect(try readAll() == ["committed"])
            try writer.execute("COMMIT")
            #expect(try readAll() == ["committed", "uncommitted"])
        }
    }

    @Test("a second writer gets SQLITE_BUSY after about the busy timeout while the first holds the write lock")
    func secondWriterIsBusy() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/busy.db"
            let first = try makeWALDatabase(path)
            let second = try Connection(path: path, busyTimeoutMilliseconds: 300)
            try first.inTransaction(.immediate) {
                try first.execute("INSERT INTO t (x) VALUES ('first')")
                let clock = ContinuousClock()
                let start = clock.now
                let error = try #require(throws: SQLiteError.self) {
                    try second.inTransaction(.immediate) { try second.execute("INSERT INTO t (x) VALUES ('second')") }
                }
                let waited = clock.now - start
                #expect(error.isBusy)
                #expect(error.context?.contains("beginning a transaction") == true)
                #expect(waited >= .milliseconds(250), "gave up after \(waited)")
                #expect(waited < .seconds(3), "waited \(waited)")
                #expect(!second.isInTransaction)
            }
            try second.inTransaction(.immediate) { try second.execute("INSERT INTO t (x) VALUES ('second')") }
            #expect(try second.prepare("SELECT count(*) FROM t").queryOne { $0.int(0) } == 2)
        }
    }

    @Test("checkpoint moves the log into the database file and truncates the log")
    func checkpointTruncates() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/ckpt.db"
            let db = try makeWALDatabase(path)
            try db.execute("PRAGMA wal_autocheckpoint = 0")
            try db.prepare("INSERT INTO t (x) VALUES (?)").execute([.text(String(repeating: "x", count: 10_000))])
            #expect((fileSize(path + "-wal") ?? 0) > 0)
            #expect(try db.checkpoint())
            #expect(fileSize(path + "-wal") == 0)
            #expect(try Connection(path: ":memory:").checkpoint())
        }
    }
}
