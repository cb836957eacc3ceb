import SQLite
import Testing

@Suite("Backup")
struct BackupTests {
    private func rows(_ db: Connection) throws -> [String] {
        var rows: [String] = []
        try db.prepare("SELECT x FROM t ORDER BY id").query { rows.append($0.text(0) ?? "") }
        return rows
    }

    @Test("a backup holds the rows committed in the WAL and none of an open transaction's")
    func backupWhileAnotherConnectionWrites() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/live.db"
            let writer = try Connection(path: path)
            try writer.enableWriteAheadLogging()
            try writer.execute("PRAGMA wal_autocheckpoint = 0")
            try writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)")
            let insert = try writer.prepare("INSERT INTO t (x) VALUES (?)")
            for n in 0..<500 {
                try insert.execute([.text("committed \(n)")])
            }
            #expect((fileSize(path + "-wal") ?? 0) > 0, "the committed rows should still be in the log")

            try writer.execute("BEGIN IMMEDIATE")
            try writer.execute("INSERT INTO t (x) VALUES ('uncommitted')")

            let backupPath = directory + "/copy.db"
            let source = try Connection(path: path, mode: .readOnly)
            try source.backup(to: backupPath, pagesPerStep: 4)
            try writer.execute("COMMIT")

            #expect(!fileExists(backupPath + ".partial"))
            let copy = try Connection(path: backupPath, mode: .readOnly)
            #expect(try copy.pragma("integrity_check") == .text("ok"))
            #expect(try copy.pragma("journal_mode") == .text("delete"), "a backup is one self-contained file")
            #expect(!fileExists(backupPath + "-wal"))
            #expect(try rows(copy) == (0..<500).map { "committed \($0)" })
        }
    }

    @Test("a backup of a database with many pages, copied one page per step, is identical")
    func smallSteps() throws {
        try withTemporaryDirectory { directory in
            let db = try Connection(path: directory + "/big.db")
            try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)")
            try db.inTransaction {
                let insert = try db.prepare("INSERT INTO t (x) VALUES (?)")
                for n in 0..<2_000 {
                    try insert.bind("row \(n) " + String(repeating: "·", count: n % 300), at: 1)
                    try insert.execute()
                }
            }
            try db.backup(to: directory + "/copy.db", pagesPerStep: 1)
            let copy = try Connection(path: directory + "/copy.db", mode: .readOnly)
            #expect(try rows(copy) == rows(db))
        }
    }

    @Test("a backup never replaces an existing file")
    func refusesExistingDestination() throws {
        try withTemporaryDirectory { directory in
            let db = try Connection(path: directory + "/a.db")
            try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)")
            let existing = directory + "/existing.db"
            try Connection(path: existing).execute("CREATE TABLE precious (x)")
            let error = try #require(throws: SQLiteError.self) { try db.backup(to: existing) }
            #expect(error.context == "backing up \(directory)/a.db to \(existing)")
            let kept = try Connection(path: existing, mode: .readOnly)
            #expect(try kept.prepare("SELECT name FROM sqlite_schema").queryOne { $0.text(0) } == "precious")
        }
    }

    @Test("backing up from inside this connection's own write transaction is refused")
    func refusesDuringOwnWrite() throws {
        try withTemporaryDirectory { directory in
            let db = try Connection(path: directory + "/a.db")
            try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)")
            try db.inTransaction {
                try db.execute("INSERT INTO t (x) VALUES ('pending')")
                let error = try #require(throws: SQLiteError.self) { try db.backup(to: directory + "/copy.db") }
                #expect(error.primaryCode == 21)
            }
            #expect(!fileExists(directory + "/copy.db"))
        }
    }
}
