import SQLite
import Testing

@Suite("SQLiteError")
struct SQLiteErrorTests {
    @Test("a syntax error is SQLITE_ERROR (1) and carries the statement text")
    func syntaxError() throws {
        let db = try Connection(path: ":memory:")
        let sql = "SELEC 1"
        let prepareError = try #require(throws: SQLiteError.self) { try db.prepare(sql) }
        #expect(prepareError.primaryCode == 1)
        #expect(prepareError.extendedCode == 1)
        #expect(prepareError.sql == sql)
        #expect(prepareError.message.contains("syntax error"))
        #expect(prepareError.description.contains("SQLITE_ERROR"))
        #expect(prepareError.description.contains("`SELEC 1`"))
        let executeError = try #require(throws: SQLiteError.self) { try db.execute(sql) }
        #expect(executeError.primaryCode == 1)
        #expect(executeError.sql == sql)
        #expect(!executeError.isBusy && !executeError.isConstraint)
    }

    @Test("a duplicate primary key is SQLITE_CONSTRAINT_PRIMARYKEY (1555) and isConstraint")
    func primaryKeyViolation() throws {
        let db = try Connection(path: ":memory:")
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)")
        let insert = try db.prepare("INSERT INTO t (id, name) VALUES (?, ?)")
        try insert.execute([1, "a"])
        let error = try #require(throws: SQLiteError.self) { try insert.execute([1, "b"]) }
        #expect(error.extendedCode == 1555)
        #expect(error.primaryCode == 19)
        #expect(error.isConstraint)
        #expect(error.sql == "INSERT INTO t (id, name) VALUES (?, ?)")
        #expect(error.description.hasPrefix("SQLite error 19 (SQLITE_CONSTRAINT, extended 1555): UNIQUE constraint"))

        let unique = try #require(throws: SQLiteError.self) { try insert.execute([2, "a"]) }
        #expect(unique.extendedCode == 2067)
        let notNull = try #require(throws: SQLiteError.self) { try insert.execute([3, nil]) }
        #expect(notNull.extendedCode == 1299)
        try insert.execute([2, "b"])
    }

    @Test("description names the code, message, context and SQL on one line")
    func description() {
        let error = SQLiteError(
            extendedCode: 517, message: "database is locked", sql: "INSERT ...", context: "opening /x.db")
        let expected =
            "SQLite error 5 (SQLITE_BUSY, extended 517): database is locked"
            + " — while opening /x.db — in `INSERT ...`"
        #expect(error.description == expected)
        #expect(error.isBusy)
        #expect(SQLiteError(extendedCode: 1, message: "m").description == "SQLite error 1 (SQLITE_ERROR): m")
    }

    @Test("long multi-line SQL is shown on one shortened line, while sql keeps all of it")
    func longSQL() {
        let sql = "CREATE TABLE t (\n    a TEXT,\n    b TEXT\n);\n" + String(repeating: "-- filler\n", count: 100)
        let error = SQLiteError(extendedCode: 1, message: "m", sql: sql)
        #expect(error.sql == sql)
        #expect(!error.description.contains("\n"))
        #expect(error.description.contains("`CREATE TABLE t ( a TEXT, b TEXT ); -- filler"))
        #expect(error.description.hasSuffix("…`"))
    }
}
