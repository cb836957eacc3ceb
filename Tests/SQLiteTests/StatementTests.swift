import SQLite
import Testing

@Suite("Statement")
struct StatementTests {
    struct Stop: Error {}

    @Test("bind([Value]) with the wrong number of values throws SQLITE_RANGE and names the SQL")
    func wrongBindCount() throws {
        let db = try Connection(path: ":memory:")
        let statement = try db.prepare("SELECT ?, ?")
        #expect(statement.parameterCount == 2)
        for values: [Value] in [[1], [1, 2, 3]] {
            let error = try #require(throws: SQLiteError.self) { try statement.bind(values) }
            #expect(error.primaryCode == 25)
            #expect(error.sql == "SELECT ?, ?")
            #expect(error.message.contains("2 parameter(s)"))
        }
        #expect(throws: SQLiteError.self) { try statement.execute([1]) }
        #expect(throws: SQLiteError.self) { try statement.query([1, 2, 3]) { _ in } }
        #expect(try statement.queryOne([1, 2]) { [$0.int(0), $0.int(1)] } == [1, 2])
    }

    @Test("binding an index outside 1...parameterCount throws SQLITE_RANGE")
    func bindOutOfRange() throws {
        let statement = try Connection(path: ":memory:").prepare("SELECT ?")
        for index: Int32 in [0, 2] {
            let error = try #require(throws: SQLiteError.self) { try statement.bind(1 as Int64?, at: index) }
            #expect(error.primaryCode == 25)
        }
    }

    @Test("execute() with no values uses the bindings already made, then clears them")
    func executeUsesExistingBindings() throws {
        let db = try Connection(path: ":memory:")
        try db.execute("CREATE TABLE t (a, b)")
        let insert = try db.prepare("INSERT INTO t VALUES (?, ?)")
        try insert.bind("kept" as String?, at: 1)
        try insert.bind(5 as Int64?, at: 2)
        try insert.execute()
        try insert.execute()
        var rows: [[Value]] = []
        try db.prepare("SELECT a, b FROM t ORDER BY rowid").query { rows.append([$0.value(0), $0.value(1)]) }
        #expect(rows == [["kept", 5], [nil, nil]])
    }

    @Test("query calls back for every row in order; queryOne reads the first row or returns nil")
    func queryAndQueryOne() throws {
        let db = try Connection(path: ":memory:")
        try db.execute("CREATE TABLE t (n); INSERT INTO t VALUES (3), (1), (2);")
        var seen: [Int] = []
        try db.prepare("SELECT n FROM t ORDER BY n").query { seen.append($0.int(0)) }
        #expect(seen == [1, 2, 3])
        #expect(try db.prepare("SELECT n FROM t ORDER BY n DESC").queryOne { $0.int(0) } == 3)
        #expect(try db.prepare("SELECT n FROM t WHERE n > 10").queryOne { $0.int(0) } == nil)
    }

    @Test("a throwing row callback stops the query and leaves the statement reset for reuse")
    func queryResetsOnThrow() throws {
        let db = try Connection(path: ":memory:")
        try db.execute("CREATE TABLE t (n); INSERT INTO t VALUES (1), (2), (3);")
        let select = try db.prepare("SELECT n FROM t WHERE n >= ? ORDER BY n")
        var seen: [Int] = []
        #expect(throws: Stop.self) {
            try select.query([1]) { row in
                seen.append(row.int(0))
                if seen.count == 2 { throw Stop() }
            }
        }
        #expect(seen == [1, 2])
        #expect(try select.queryOne([2]) { $0.int(0) } == 2)
    }

    @Test("columnCount and columnName describe the result columns, aliases included")
    func columns() throws {
        let statement = try Connection(path: ":memory:").prepare("SELECT 1 AS one, 'x' AS \"two words\", NULL")
        #expect(statement.columnCount == 3)
        #expect((0..<statement.columnCount).map(statement.columnName) == ["one", "two words", "NULL"])
    }

    @Test("step reports rows one by one and false when done; errors carry the SQL")
    func stepByStep() throws {
        let db = try Connection(path: ":memory:")
        let statement = try db.prepare("SELECT value FROM json_each('[10, 20]')")
        var values: [Int64] = []
        while try statement.step() {
            values.append(statement.currentRow.int64(0))
        }
        #expect(values == [10, 20])
        let failing = try db.prepare("SELECT json('not json')")
        let error = try #require(throws: SQLiteError.self) { try failing.step() }
        #expect(error.primaryCode == 1)
        #expect(error.sql == "SELECT json('not json')")
    }
}
