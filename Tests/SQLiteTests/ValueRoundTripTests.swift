import SQLite
import Testing

/// Every kind of value goes in through one binding path and comes back out unchanged.
@Suite("Value round trips")
struct ValueRoundTripTests {
    static let samples: [Value] = [
        .null,
        .integer(0), .integer(-1), .integer(Int64.min), .integer(Int64.max),
        .real(0.5), .real(-1e300), .real(Double.infinity), .real(Double.leastNonzeroMagnitude),
        .text(""), .text("plain"), .text("héllo wörld — ünïcödé"), .text("👩‍👩‍👧‍👦 family, 🇸🇪 flag"),
        .text("it's \"quoted\"\nand\ton\r\nseveral lines"), .text("embedded\u{0}NUL\u{0}"),
        .text("日本語のテキスト"),
        .blob([]), .blob([0]), .blob([0, 1, 2, 127, 128, 254, 255]), .blob(Array(repeating: 0xAB, count: 100_000)),
    ]

    @Test("bind(Value) and Row.value return the same value, through a real table", arguments: samples)
    func roundTripThroughTable(value: Value) throws {
        try withTemporaryDirectory { directory in
            let db = try Connection(path: directory + "/values.db")
            try db.execute("CREATE TABLE v (x)")
            let insert = try db.prepare("INSERT INTO v (x) VALUES (?)")
            try insert.bind(value, at: 1)
            #expect(try insert.step() == false)
            let read = try db.prepare("SELECT x FROM v").queryOne { $0.value(0) }
            #expect(read == value)
        }
    }

    @Test("Statement.execute([Value]) and query bind the same way", arguments: samples)
    func roundTripThroughArrays(value: Value) throws {
        let db = try Connection(path: ":memory:")
        try db.execute("CREATE TABLE v (x)")
        try db.prepare("INSERT INTO v (x) VALUES (?)").execute([value])
        var rows: [Value] = []
        try db.prepare("SELECT x FROM v WHERE x IS ?").query([value]) { rows.append($0.value(0)) }
        #expect(rows == [value])
    }

    @Test("typed fast-path binds and getters agree with each other, and nil binds NULL")
    func fastPaths() throws {
        let db = try Connection(path: ":memory:")
        try db.execute("CREATE TABLE t (s TEXT, i INTEGER, d REAL, b INTEGER, y BLOB)")
        let insert = try db.prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)")
        try insert.bind("naïve 🚀 \"text\"" as String?, at: 1)
        try insert.bind(Int64.min as Int64?, at: 2)
        try insert.bind(2.5 as Double?, at: 3)
        try insert.bind(true as Bool?, at: 4)
        try insert.bind([1, 2, 3] as [UInt8]?, at: 5)
        try insert.execute()
        try insert.bind(nil as String?, at: 1)
        try insert.bind(nil as Int64?, at: 2)
        try insert.bind(nil as Double?, at: 3)
        try insert.bind(nil as Bool?, at: 4)
        try insert.bind(nil as [UInt8]?, at: 5)
        try insert.execute()

        var rows: [[Value]] = []
        try db.prepare("SELECT s, i, d, b, y FROM t ORDER BY rowid").query { row in
            #expect(row.count == 5)
            rows.append((0..<row.count).map(row.value))
            if !row.isNull(0) {
                #expect(row.text(0) == "naïve 🚀 \"text\"")
                #expect(row.int64(1) == Int64.min)
                #expect(row.double(2) == 2.5)
                #expect(row.bool(3))
                #expect(row.blob(4) == [1, 2, 3])
            } else {
                #expect(row.text(0) == nil)
                #expect(row.int64(1) == 0)
                #expect(row.bool(3) == false)
                #expect(row.blob(4) == nil)
            }
        }
        #expect(
            rows[0] == [.text("naïve 🚀 \"text\""), .integer(Int64.min), .real(2.5), .integer(1), .blob([1, 2, 3])])
        #expect(rows[1] == [.null, .null, .null, .null, .null])
    }

    @Test("an empty string is text of length 0, not NULL; an empty blob is a blob, not NULL")
    func emptyIsNotNull() throws {
        let db = try Connection(path: ":memory:")
        let probe = try db.prepare("SELECT ?1 IS NULL, typeof(?1), length(?1)")
        for (value, type) in [(Value.text(""), "text"), (.blob([]), "blob"), (.null, "null")] {
            let row = try probe.queryOne([value]) { [$0.bool(0) ? "null" : "value", $0.text(1), $0.text(2)] }
            #expect(row == [type == "null" ? "null" : "value", type, type == "null" ? nil : "0"])
        }
        try probe.bind("" as String?, at: 1)
        #expect(try probe.queryOne { $0.text(1) } == "text")
    }

    @Test("text with embedded NUL keeps its full length in SQLite")
    func embeddedNUL() throws {
        let db = try Connection(path: ":memory:")
        let length = try db.prepare("SELECT length(CAST(? AS BLOB))").queryOne([.text("a\u{0}b")]) { $0.int(0) }
        #expect(length == 3)
    }

    @Test("Value literals build the cases they look like")
    func literals() {
        let values: [Value] = [nil, 7, 1.5, "x", true, false]
        #expect(values == [.null, .integer(7), .real(1.5), .text("x"), .integer(1), .integer(0)])
    }
}
