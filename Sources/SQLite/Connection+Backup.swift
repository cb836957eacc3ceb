internal import CSQLite

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#elseif canImport(Darwin)
    internal import Darwin
#endif

extension Connection {
    /// Writes a consistent snapshot of this database (committed data only, including what is still in the WAL)
    /// to a new file at `destinationPath`, using SQLite's online backup API.
    ///
    /// The copy is a single file in rollback-journal mode (call `enableWriteAheadLogging()` after restoring it).
    /// It is made in `destinationPath + ".partial"` and renamed into place when complete, so the destination
    /// either does not exist or is a whole database, even after a crash. An existing destination is refused rather
    /// than replaced: a stale `-wal` file left beside it would be replayed into the new copy and corrupt it.
    ///
    /// `pagesPerStep` pages are copied while holding a read lock, which is then released so writers can proceed.
    /// If another connection writes in between, SQLite restarts the copy, so under continuous writes pass -1 (copy
    /// everything in one step). Steps that find the source locked are retried every few milliseconds for up to
    /// the busy timeout. The connection must not be in the middle of a write transaction.
    public func backup(to destinationPath: String, pagesPerStep: Int32 = 256) throws {
        let source = try openHandle()
        let context = "backing up \(path) to \(destinationPath)"
        guard sqlite3_txn_state(source, "main") != SQLITE_TXN_WRITE else {
            throw SQLiteError.misuse("cannot back up while this connection has a write transaction", context: context)
        }
        guard access(destinationPath, F_OK) != 0 else {
            throw SQLiteError(
                extendedCode: SQLITE_CANTOPEN,
                message: "the destination already exists; backups only create new files",
                context: context
            )
        }
        let partialPath = destinationPath + ".partial"
        removeDatabaseFiles(at: partialPath)
        do {
            let destination = try Connection(path: partialPath, mode: .readWriteCreate)
            try copyPages(from: source, to: destination.openHandle(), pagesPerStep: pagesPerStep)
            // The copied header still says WAL; a rollback-journal file needs no -wal/-shm beside it, so the backup
            // is one self-contained file that opens even from a read-only directory.
            try destination.execute("PRAGMA journal_mode = DELETE")
            try destination.close()
            guard rename(partialPath, destinationPath) == 0 else {
                let reason = String(cString: strerror(errno))
                throw SQLiteError(extendedCode: SQLITE_IOERR, message: "renaming \(partialPath) failed: \(reason)")
            }
        } catch let error as SQLiteError {
            removeDatabaseFiles(at: partialPath)
            throw error.adding(context: context)
        }
    }

    private func copyPages(from source: OpaquePointer, to destination: OpaquePointer, pagesPerStep: Int32) throws {
        guard let backup = sqlite3_backup_init(destination, "main", source, "main") else {
            throw SQLiteError(code: sqlite3_extended_errcode(destination), db: destination)
        }
        let retryDelayMilliseconds: Int32 = 5
        var waitedMilliseconds: Int32 = 0
        while true {
            let rc = sqlite3_backup_step(backup, pagesPerStep)
            switch rc & 0xFF {
            case SQLITE_OK:
                continue
            case SQLITE_DONE:
                let finish = sqlite3_backup_finish(backup)
                guard finish == SQLITE_OK else {
                    throw SQLiteError(code: finish, db: destination)
                }
                return
            case SQLITE_BUSY where waitedMilliseconds < busyTimeoutMilliseconds,
                SQLITE_LOCKED where waitedMilliseconds < busyTimeoutMilliseconds:
                // The source's busy handler is not consulted by backup steps, so we wait here instead.
                usleep(UInt32(retryDelayMilliseconds) * 1000)
                waitedMilliseconds += retryDelayMilliseconds
            default:
                let error = SQLiteError(code: rc, db: destination)
                sqlite3_backup_finish(backup)
                throw error
            }
        }
    }

    /// Deletes a database file and the journal, log and shared-memory files SQLite may have left beside it.
    private func removeDatabaseFiles(at path: String) {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            unlink(path + suffix)
        }
    }
}
