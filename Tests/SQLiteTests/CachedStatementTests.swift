import SQLite
import Testing

@Suite("Cached statements")
struct CachedStatementTests {
    @Test("the same SQL returns the same compiled statement")
    func reused() throws {
        let db = try Connection(path: ":memory:")
        let first = try db.cachedStatement("SELECT ?")
        let second = try db.cachedStatement("SELECT ?")
        let other = try db.cachedStatement("SELECT ? + 1")
        #expect(first === second)
        #expect(first !== other)
    }

    @Test("bindings made on a previous use do not leak into the next one")
    func bindingsDoNotLeak() throws {
        let db = try Connection(path: ":memory:")
        let first = try db.cachedStatement("SELECT ?")
        try first.bind("left over" as String?, at: 1)
        let again = try db.cachedStatement("SELECT ?")
        #expect(try again.queryOne { $0.value(0) } == .null)
    }

    @Test("a statement abandoned halfway through its rows starts from the first row when handed out again")
    func abandonedStatementIsReset() throws {
        let db = try Connection(path: ":memory:")
        try db.execute("CREATE TABLE t (n); INSERT INTO t VALUES (1), (2), (3);")
        let first = try db.cachedStatement("SELECT n FROM t ORDER BY n")
        #expect(try first.step())
        #expect(try first.step())
        var seen: [Int] = []
        try db.cachedStatement("SELECT n FROM t ORDER BY n").query { seen.append($0.int(0)) }
        #expect(seen == [1, 2, 3])
    }

    @Test("10,000 rows go in through one cached statement inside one transaction")
    func hotPathInsert() throws {
        try withTemporaryDirectory { directory in
            let db = try Connection(path: directory + "/hot.db")
            try db.enableWriteAheadLogging()
            try db.execute("CREATE TABLE presence (user_id TEXT PRIMARY KEY, availability TEXT, seen INTEGER)")
            let sql = "INSERT INTO presence (user_id, availability, seen) VALUES (?, ?, ?)"
            try db.inTransaction {
                for n in 0..<10_000 {
                    let insert = try db.cachedStatement(sql)
                    try insert.bind("user-\(n)" as String?, at: 1)
                    try insert.bind(n.isMultiple(of: 2) ? "Available" : "Away", at: 2)
                    try insert.bind(Int64(n), at: 3)
                    try insert.execute()
                }
            }
            #expect(
                try db.prepare("SELECT count(*), sum(seen) FROM presence").queryOne { [$0.int(0), $0.int(1)] }
                    == [10_000, 49_995_000])
        }
    }
}
