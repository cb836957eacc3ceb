internal import CSQLite

/// How `Connection.init` opens the database file.
public enum OpenMode: Sendable {
    /// Read and write, creating the file if it does not exist.
    case readWriteCreate
    /// Read and write an existing file; a missing file is an error.
    case readWrite
    /// Read an existing file only; writes fail with SQLITE_READONLY.
    case readOnly
}

/// One open SQLite database connection.
///
/// Not Sendable: a connection must be used by one thread (or serial queue) at a time, and SQLite's per-connection
/// state (last error message, `changes`, `lastInsertRowID`, open transaction) only makes sense to that one owner.
/// Anything that blocks on SQLite should own its connection on a dedicated thread, not on the cooperative pool.
///
/// Every connection is opened with extended result codes, a busy timeout, defensive mode (no writable_schema or
/// other ways to corrupt the file from SQL) and without the double-quoted-string misfeature (`"name"` is always an
/// identifier, so a misspelled column is an error rather than a string).
public final class Connection {
    /// The path the connection was opened with (or ":memory:").
    public let path: String
    /// How long a statement waits for another connection's lock before failing with SQLITE_BUSY.
    public let busyTimeoutMilliseconds: Int32

    /// nil once closed.
    private(set) var handle: OpaquePointer?
    /// Statements handed out by `cachedStatement(_:)`, keyed by their SQL text.
    private var statementCache: [String: Statement] = [:]

    /// Opens (or creates, depending on `mode`) the database at `path`; errors name the path in their context.
    public init(path: String, mode: OpenMode = .readWriteCreate, busyTimeoutMilliseconds: Int32 = 5000) throws {
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        let context = "opening \(path)"
        // NOMUTEX (SQLite's "multi-thread" mode): a connection is never used by two threads at once (it is not
        // Sendable), so the lock SQLite's default mode takes around every call on it guards nothing; it was about
        // 2.5% of the store thread's CPU.
        var flags = SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOMUTEX
        switch mode {
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            // SQLite usually allocates a handle even when opening fails; it holds the message and must be closed.
            let error = SQLiteError(code: db.map(sqlite3_extended_errcode) ?? rc, db: db, context: context)
            sqlite3_close_v2(db)
            throw error
        }
        self.handle = db
        sqlite3_extended_result_codes(db, 1)
        for (rc, what) in [
            (sqlite3_busy_timeout(db, busyTimeoutMilliseconds), "setting the busy timeout"),
            (csqlite_enable_defensive(db), "enabling defensive mode"),
            (csqlite_disable_double_quoted_strings(db), "disabling double-quoted strings"),
        ] where rc != SQLITE_OK {
            let error = SQLiteError(code: rc, db: db, context: "\(context): \(what)")
            sqlite3_close_v2(db)
            self.handle = nil
            throw error
        }
    }

    deinit {
        if let handle {
            statementCache.removeAll()
            sqlite3_close_v2(handle)
        }
    }

    /// Finalizes cached statements and closes the connection; closing twice is harmless.
    ///
    /// An open transaction is rolled back. If callers still hold `Statement`s prepared here, SQLite keeps the file
    /// open until the last of them is released; using them after `close()` is a programming error.
    public func close() throws {
        guard let db = handle else { return }
        statementCache.removeAll()
        handle = nil
        let rc = sqlite3_close_v2(db)
        guard rc == SQLITE_OK else {
            throw SQLiteError(code: rc, db: nil, context: "closing \(path)")
        }
    }

    /// The open handle, or an error naming the path when the connection has been closed.
    func openHandle() throws -> OpaquePointer {
        guard let handle else {
            throw SQLiteError.misuse("the connection has been closed", context: "using \(path)")
        }
        return handle
    }

    /// Runs one or more `;`-separated statements without parameters (schema scripts, PRAGMAs, BEGIN/COMMIT).
    public func execute(_ sql: String) throws {
        let db = try openHandle()
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &errorMessage)
        guard rc == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(errorMessage)
            throw SQLiteError(extendedCode: rc, message: message, sql: sql)
        }
    }

    /// Compiles exactly one statement; the caller owns it and it is finalized when released.
    ///
    /// More than one statement in `sql` is an error (SQLITE_MISUSE) rather than silently ignoring the rest.
    public func prepare(_ sql: String) throws -> Statement {
        try makeStatement(sql, flags: 0)
    }

    /// A statement compiled once per connection and reused on every later call with the same SQL.
    ///
    /// The statement is reset and its bindings cleared before it is handed out, so nothing from a previous use
    /// leaks into this one. Because it is shared, do not ask for the same SQL again while still stepping through
    /// its rows (the second request resets the first).
    public func cachedStatement(_ sql: String) throws -> Statement {
        if let statement = statementCache[sql] {
            statement.reset()
            return statement
        }
        let statement = try makeStatement(sql, flags: UInt32(SQLITE_PREPARE_PERSISTENT))
        statementCache[sql] = statement
        return statement
    }

    private func makeStatement(_ sql: String, flags: UInt32) throws -> Statement {
        let db = try openHandle()
        var statement: OpaquePointer?
        var hasMoreStatements = false
        let rc = sql.withCString { text -> Int32 in
            var tail: UnsafePointer<CChar>?
            let rc = sqlite3_prepare_v3(db, text, -1, flags, &statement, &tail)
            if rc == SQLITE_OK, let tail, tail.pointee != 0 {
                // Whitespace, semicolons and comments after the statement compile to nothing; anything else is a
                // second statement (or garbage) that prepare would otherwise silently ignore.
                var next: OpaquePointer?
                hasMoreStatements = sqlite3_prepare_v2(db, tail, -1, &next, nil) != SQLITE_OK || next != nil
                sqlite3_finalize(next)
            }
            return rc
        }
        guard rc == SQLITE_OK else {
            throw SQLiteError(code: rc, db: db, sql: sql)
        }
        guard let statement else {
            throw SQLiteError.misuse("no SQL statement to prepare", sql: sql)
        }
        guard !hasMoreStatements else {
            sqlite3_finalize(statement)
            throw SQLiteError.misuse("more than one statement; use execute(_:) for scripts", sql: sql)
        }
        return Statement(handle: statement, sql: sql)
    }

    /// True while a transaction is open (SQLite is not in autocommit mode).
    public var isInTransaction: Bool {
        guard let handle else { return false }
        return sqlite3_get_autocommit(handle) == 0
    }

    /// Rows changed by the most recent INSERT, UPDATE or DELETE on this connection.
    public var changes: Int {
        guard let handle else { return 0 }
        return Int(sqlite3_changes64(handle))
    }

    /// The rowid of the most recent successful INSERT on this connection (0 if none).
    public var lastInsertRowID: Int64 {
        guard let handle else { return 0 }
        return sqlite3_last_insert_rowid(handle)
    }
}

/// Deliberately not Sendable: see `Connection`'s documentation. An owner that moves a connection to its own thread
/// wraps it in a box that documents why that is safe.
@available(*, unavailable)
extension Connection: Sendable {}
