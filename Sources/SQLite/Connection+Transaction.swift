internal import CSQLite

/// How `Connection.inTransaction` begins its transaction.
public enum TransactionKind: Sendable {
    /// Takes locks lazily: a read lock at the first read, the write lock at the first write (which can then fail
    /// with SQLITE_BUSY without waiting if another connection wrote in between).
    case deferred
    /// Takes the write lock at BEGIN, waiting up to the busy timeout: the right kind for read-modify-write.
    case immediate
    /// Like immediate; in WAL mode the two are the same, in rollback mode it also keeps readers out.
    case exclusive

    var beginSQL: String {
        switch self {
        case .deferred: "BEGIN DEFERRED"
        case .immediate: "BEGIN IMMEDIATE"
        case .exclusive: "BEGIN EXCLUSIVE"
        }
    }
}

extension Connection {
    /// Runs `body` in a transaction: commits when it returns, rolls back and rethrows its error when it throws.
    ///
    /// Transactions do not nest: calling this while a transaction is open throws SQLITE_MISUSE (a nested BEGIN
    /// would otherwise fail with a less helpful message, or a savepoint would hide that the outer caller decides
    /// about the commit). If COMMIT itself fails, the transaction is rolled back and that error is thrown.
    public func inTransaction<T>(_ kind: TransactionKind = .immediate, _ body: () throws -> T) throws -> T {
        guard !isInTransaction else {
            throw SQLiteError.misuse(
                "a transaction is already open; transactions do not nest", context: "beginning a transaction")
        }
        do {
            try execute(kind.beginSQL)
        } catch let error as SQLiteError {
            throw error.adding(context: "beginning a transaction on \(path)")
        }
        let result: T
        do {
            result = try body()
        } catch {
            rollbackIfOpen()
            throw error
        }
        do {
            try execute("COMMIT")
        } catch let error as SQLiteError {
            rollbackIfOpen()
            throw error.adding(context: "committing a transaction on \(path)")
        }
        return result
    }

    /// Rolls back whatever is still open. SQLite may already have rolled back by itself (after SQLITE_FULL, an I/O
    /// error or an interrupt), so an open transaction is checked for first and a failing ROLLBACK is ignored: the
    /// error worth reporting is the one that made us roll back.
    private func rollbackIfOpen() {
        guard isInTransaction, let handle else { return }
        sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
    }
}
