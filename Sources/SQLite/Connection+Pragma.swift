internal import CSQLite

extension Connection {
    /// The schema version stored in the file header (`PRAGMA user_version`); 0 for a new database.
    public var userVersion: Int32 {
        get throws {
            let version = try cachedStatement("PRAGMA user_version").queryOne { $0.int64(0) } ?? 0
            return Int32(truncatingIfNeeded: version)
        }
    }

    /// Stores `version` in the file header (`PRAGMA user_version`); part of the current transaction, if any.
    public func setUserVersion(_ version: Int32) throws {
        try execute("PRAGMA user_version = \(version)")
    }

    /// Reads one pragma's value (`PRAGMA name`), or nil when it returns no row.
    ///
    /// `name` may be schema-qualified ("main.journal_mode") but is otherwise limited to letters, digits and
    /// underscores, because pragma names cannot be bound as parameters and are spliced into the SQL.
    public func pragma(_ name: String) throws -> Value? {
        let allowed = name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."):
                true
            default:
                false
            }
        }
        guard allowed, !name.isEmpty else {
            throw SQLiteError.misuse("not a pragma name: \(name)", context: "reading a pragma on \(path)")
        }
        return try prepare("PRAGMA \(name)").queryOne { $0.value(0) }
    }

    /// Switches the file to write-ahead logging, so readers and one writer no longer block each other; persistent.
    ///
    /// Throws when SQLite stays in another mode (for instance on a read-only connection to a file not yet in WAL),
    /// except for in-memory databases, which have no log and keep "memory".
    public func enableWriteAheadLogging() throws {
        let mode = try prepare("PRAGMA journal_mode = WAL").queryOne { $0.text(0) } ?? nil
        let isInMemory = path.isEmpty || path == ":memory:"
        guard mode?.lowercased() == "wal" || (isInMemory && mode?.lowercased() == "memory") else {
            throw SQLiteError(
                extendedCode: SQLITE_ERROR,
                message: "journal mode stayed \(mode ?? "unknown") instead of wal",
                sql: "PRAGMA journal_mode = WAL",
                context: "enabling write-ahead logging on \(path)"
            )
        }
    }

    /// Copies everything in the write-ahead log into the database file and truncates the log to zero bytes.
    ///
    /// Returns false (rather than throwing) when readers or a writer kept it from finishing within the busy
    /// timeout; the log is then left as it was and a later call can try again. On a database not in WAL mode it
    /// does nothing and returns true.
    @discardableResult
    public func checkpoint() throws -> Bool {
        let db = try openHandle()
        let rc = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil)
        if rc == SQLITE_OK { return true }
        if rc & 0xFF == SQLITE_BUSY { return false }
        throw SQLiteError(code: rc, db: db, context: "checkpointing \(path)")
    }
}
