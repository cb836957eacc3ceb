import SQLite

/// A storage failure, naming the database file and what the store was doing.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var operation: String
    public var underlying: String
    /// SQLite's extended result code, when SQLite reported the failure.
    public var sqliteCode: Int32?

    init(path: String, operation: String, _ error: any Error) {
        self.path = path
        self.operation = operation
        self.underlying = String(describing: error)
        self.sqliteCode = (error as? SQLiteError)?.extendedCode
    }

    public var description: String { "database \(path): \(operation) failed: \(underlying)" }
}
