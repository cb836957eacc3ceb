internal import CSQLite

/// One compiled SQL statement: bind parameters, step through rows, reset, repeat.
///
/// Not Sendable, like the `Connection` it came from. It does not keep the connection alive: SQLite keeps the
/// underlying handle until the last statement is finalized, but using a statement after `Connection.close()` is a
/// programming error. `execute` and `query` always leave the statement reset with its bindings cleared, even when
/// they throw, so a statement (cached or not) can be reused right away.
public final class Statement {
    /// The SQL text this statement was compiled from.
    public let sql: String
    let handle: OpaquePointer

    init(handle: OpaquePointer, sql: String) {
        self.handle = handle
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// Number of `?`/`:name` parameters in the statement.
    public var parameterCount: Int32 { sqlite3_bind_parameter_count(handle) }

    /// Number of columns each row has (0 for statements that return no rows).
    public var columnCount: Int32 { sqlite3_column_count(handle) }

    /// Name of column `i` (0-based) as SQLite reports it: the `AS` alias when there is one.
    public func columnName(_ i: Int32) -> String {
        guard let name = sqlite3_column_name(handle, i) else { return "" }
        return String(cString: name)
    }

    // MARK: Binding

    /// Binds `value` to parameter `index` (1-based).
    public func bind(_ value: Value, at index: Int32) throws {
        switch value {
        case .null: try check(sqlite3_bind_null(handle, index))
        case .integer(let int): try check(sqlite3_bind_int64(handle, index, int))
        case .real(let double): try check(sqlite3_bind_double(handle, index, double))
        case .text(let text): try bind(text, at: index)
        case .blob(let bytes): try bind(bytes, at: index)
        }
    }

    /// Clears all bindings, then binds `values` to parameters 1...n; the count must match `parameterCount`.
    public func bind(_ values: [Value]) throws {
        sqlite3_clear_bindings(handle)
        guard values.count == Int(parameterCount) else {
            throw SQLiteError(
                extendedCode: SQLITE_RANGE,
                message: "statement has \(parameterCount) parameter(s) but \(values.count) value(s) were given",
                sql: sql
            )
        }
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
    }

    /// Binds text (nil binds NULL) by its UTF-8 bytes with an explicit length: embedded NULs survive, no copy is
    /// made on the Swift side and "" stays an empty string rather than NULL.
    public func bind(_ text: String?, at index: Int32) throws {
        guard var text else {
            return try check(sqlite3_bind_null(handle, index))
        }
        let rc = text.withUTF8 { bytes -> Int32 in
            // A nil base address (possible for "") would bind NULL; any valid pointer with length 0 binds "".
            guard let base = bytes.baseAddress else {
                return sqlite3_bind_text(handle, index, "", 0, csqlite_transient())
            }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { chars in
                sqlite3_bind_text64(
                    handle, index, chars, sqlite3_uint64(bytes.count), csqlite_transient(), UInt8(SQLITE_UTF8))
            }
        }
        try check(rc)
    }

    /// Binds a 64-bit integer (nil binds NULL).
    public func bind(_ int: Int64?, at index: Int32) throws {
        guard let int else {
            return try check(sqlite3_bind_null(handle, index))
        }
        try check(sqlite3_bind_int64(handle, index, int))
    }

    /// Binds a double (nil binds NULL).
    public func bind(_ double: Double?, at index: Int32) throws {
        guard let double else {
            return try check(sqlite3_bind_null(handle, index))
        }
        try check(sqlite3_bind_double(handle, index, double))
    }

    /// Binds a boolean as the integer 0 or 1 (nil binds NULL).
    public func bind(_ bool: Bool?, at index: Int32) throws {
        guard let bool else {
            return try check(sqlite3_bind_null(handle, index))
        }
        try check(sqlite3_bind_int64(handle, index, bool ? 1 : 0))
    }

    /// Binds bytes as a blob (nil binds NULL); an empty array binds an empty blob, not NULL.
    public func bind(_ bytes: [UInt8]?, at index: Int32) throws {
        guard let bytes else {
            return try check(sqlite3_bind_null(handle, index))
        }
        let rc = bytes.withUnsafeBytes { buffer -> Int32 in
            guard let base = buffer.baseAddress, !buffer.isEmpty else {
                return sqlite3_bind_zeroblob(handle, index, 0)
            }
            return sqlite3_bind_blob64(handle, index, base, sqlite3_uint64(buffer.count), csqlite_transient())
        }
        try check(rc)
    }

    // MARK: Running

    /// Runs the statement one step: true when a row is ready to read, false when it has finished.
    public func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc: throw SQLiteError(code: rc, db: sqlite3_db_handle(handle), sql: sql)
        }
    }

    /// The row `step()` just made ready; valid until the next `step()` or `reset()`.
    public var currentRow: Row { Row(handle: handle) }

    /// Rewinds the statement so it can run again and clears its bindings (parameters become NULL).
    public func reset() {
        // sqlite3_reset repeats the last step's error code, which `step` has already reported.
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds `values` (unless empty: then the bindings already made are used), runs to completion and resets.
    ///
    /// Meant for INSERT, UPDATE and DELETE; rows a statement returns are skipped.
    public func execute(_ values: [Value] = []) throws {
        defer { reset() }
        if !values.isEmpty {
            try bind(values)
        }
        while try step() {}
    }

    /// Binds `values` (unless empty), calls `eachRow` for every row and resets, also when either throws.
    ///
    /// The `Row` is only valid inside the call: read what you need from it, do not keep it.
    public func query(_ values: [Value] = [], _ eachRow: (Row) throws -> Void) throws {
        defer { reset() }
        if !values.isEmpty {
            try bind(values)
        }
        let row = Row(handle: handle)
        while try step() {
            try eachRow(row)
        }
    }

    /// Binds `values` (unless empty), reads the first row with `read` and resets; nil when there is no row.
    public func queryOne<T>(_ values: [Value] = [], _ read: (Row) throws -> T) throws -> T? {
        defer { reset() }
        if !values.isEmpty {
            try bind(values)
        }
        guard try step() else { return nil }
        return try read(Row(handle: handle))
    }

    private func check(_ rc: Int32) throws {
        guard rc == SQLITE_OK else {
            throw SQLiteError(code: rc, db: sqlite3_db_handle(handle), sql: sql)
        }
    }
}

/// Deliberately not Sendable: see `Statement`'s documentation.
@available(*, unavailable)
extension Statement: Sendable {}
