internal import CSQLite

/// An error reported by SQLite (or by this wrapper on SQLite's behalf), with what was being done when it happened.
///
/// It carries the extended result code rather than a Swift enum of codes, so that codes SQLite adds later need no
/// change here; `primaryCode`, `isBusy` and `isConstraint` cover what callers branch on.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// The extended result code (`sqlite3_extended_errcode`), e.g. 1555 for SQLITE_CONSTRAINT_PRIMARYKEY.
    public let extendedCode: Int32
    /// SQLite's message at the time of the failure (`sqlite3_errmsg`), or the generic text for the code.
    public let message: String
    /// The text of the statement that failed, when there was one.
    public let sql: String?
    /// What the program was doing, e.g. "opening /var/lib/presence-sync/state.db" or "migration 2 (add outbox)".
    public let context: String?

    /// Creates an error; the wrapper makes these itself, but tests and higher layers may want to as well.
    public init(extendedCode: Int32, message: String, sql: String? = nil, context: String? = nil) {
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
        self.context = context
    }

    /// The primary result code (the low 8 bits of the extended one), e.g. 19 for SQLITE_CONSTRAINT.
    public var primaryCode: Int32 { extendedCode & 0xFF }

    /// True for SQLITE_BUSY: another connection held a lock for longer than the busy timeout; retrying may work.
    public var isBusy: Bool { primaryCode == SQLITE_BUSY }

    /// True for any SQLITE_CONSTRAINT: a UNIQUE, PRIMARY KEY, NOT NULL, CHECK or FOREIGN KEY rule was violated.
    public var isConstraint: Bool { primaryCode == SQLITE_CONSTRAINT }

    /// One line naming the code, SQLite's message, the context and (shortened) SQL, e.g.
    /// "SQLite error 5 (SQLITE_BUSY, extended 517): database is locked — while opening /x.db — in `INSERT ...`".
    public var description: String {
        var text = "SQLite error \(primaryCode) (\(Self.name(ofPrimaryCode: primaryCode))"
        if extendedCode != primaryCode {
            text += ", extended \(extendedCode)"
        }
        text += "): \(message)"
        if let context {
            text += " — while \(context)"
        }
        if let sql {
            text += " — in `\(Self.abbreviated(sql))`"
        }
        return text
    }

    /// Keeps long migration scripts from swamping a log line; the full text stays in `sql`.
    private static func abbreviated(_ sql: String) -> String {
        let maximumLength = 300
        var oneLine = ""
        for line in sql.split(whereSeparator: \.isNewline) {
            let indented = line.drop(while: \.isWhitespace)
            guard !indented.isEmpty else { continue }
            if !oneLine.isEmpty {
                oneLine += " "
            }
            oneLine += indented
        }
        guard oneLine.count > maximumLength else { return oneLine }
        return String(oneLine.prefix(maximumLength)) + "…"
    }

    /// The C name of a primary result code; sqlite3_errstr only gives the English text.
    private static func name(ofPrimaryCode code: Int32) -> String {
        switch code {
        case SQLITE_OK: "SQLITE_OK"
        case SQLITE_ERROR: "SQLITE_ERROR"
        case SQLITE_INTERNAL: "SQLITE_INTERNAL"
        case SQLITE_PERM: "SQLITE_PERM"
        case SQLITE_ABORT: "SQLITE_ABORT"
        case SQLITE_BUSY: "SQLITE_BUSY"
        case SQLITE_LOCKED: "SQLITE_LOCKED"
        case SQLITE_NOMEM: "SQLITE_NOMEM"
        case SQLITE_READONLY: "SQLITE_READONLY"
        case SQLITE_INTERRUPT: "SQLITE_INTERRUPT"
        case SQLITE_IOERR: "SQLITE_IOERR"
        case SQLITE_CORRUPT: "SQLITE_CORRUPT"
        case SQLITE_NOTFOUND: "SQLITE_NOTFOUND"
        case SQLITE_FULL: "SQLITE_FULL"
        case SQLITE_CANTOPEN: "SQLITE_CANTOPEN"
        case SQLITE_PROTOCOL: "SQLITE_PROTOCOL"
        case SQLITE_EMPTY: "SQLITE_EMPTY"
        case SQLITE_SCHEMA: "SQLITE_SCHEMA"
        case SQLITE_TOOBIG: "SQLITE_TOOBIG"
        case SQLITE_CONSTRAINT: "SQLITE_CONSTRAINT"
        case SQLITE_MISMATCH: "SQLITE_MISMATCH"
        case SQLITE_MISUSE: "SQLITE_MISUSE"
        case SQLITE_NOLFS: "SQLITE_NOLFS"
        case SQLITE_AUTH: "SQLITE_AUTH"
        case SQLITE_FORMAT: "SQLITE_FORMAT"
        case SQLITE_RANGE: "SQLITE_RANGE"
        case SQLITE_NOTADB: "SQLITE_NOTADB"
        case SQLITE_NOTICE: "SQLITE_NOTICE"
        case SQLITE_WARNING: "SQLITE_WARNING"
        case SQLITE_ROW: "SQLITE_ROW"
        case SQLITE_DONE: "SQLITE_DONE"
        default: "unknown code"
        }
    }
}

extension SQLiteError {
    /// The error SQLite just reported for `code` on `db`: its message if it has one, else the code's generic text.
    init(code: Int32, db: OpaquePointer?, sql: String? = nil, context: String? = nil) {
        let message: String
        if let db, let text = sqlite3_errmsg(db) {
            message = String(cString: text)
        } else {
            message = String(cString: sqlite3_errstr(code))
        }
        self.init(extendedCode: code, message: message, sql: sql, context: context)
    }

    /// A mistake in how this wrapper was used (SQLITE_MISUSE), described in our own words.
    static func misuse(_ message: String, sql: String? = nil, context: String? = nil) -> SQLiteError {
        SQLiteError(extendedCode: SQLITE_MISUSE, message: message, sql: sql, context: context)
    }

    /// The same error, saying what the program was doing; an existing context is kept after the new one.
    func adding(context outer: String) -> SQLiteError {
        let combined = context.map { "\(outer), \($0)" } ?? outer
        return SQLiteError(extendedCode: extendedCode, message: message, sql: sql, context: combined)
    }
}
