/// One step of schema evolution: what `Migrator` runs to bring a database from `version - 1` to `version`.
public struct Migration: Sendable {
    /// The `user_version` the database has once this migration is applied (1 for the first one).
    public let version: Int32
    /// A short human name, used in error messages ("migration 2 (add outbox)").
    public let name: String
    /// Changes the schema; runs inside the migrator's transaction, so it must not BEGIN or COMMIT itself.
    public let apply: @Sendable (Connection) throws -> Void

    /// Describes a migration; `apply` runs at most once per database file.
    public init(version: Int32, name: String, apply: @escaping @Sendable (Connection) throws -> Void) {
        self.version = version
        self.name = name
        self.apply = apply
    }
}

/// Brings a database's schema up to date, recording progress in `PRAGMA user_version`.
///
/// Each pending migration runs together with its `user_version` update in one immediate transaction, so a crash
/// or a failing migration leaves the file at the last fully applied version, never halfway. The version is re-read
/// inside each transaction, so two processes migrating the same file at once do not apply a step twice.
/// Migrations that need `PRAGMA foreign_keys` or `journal_mode` changes cannot make them here (SQLite ignores or
/// refuses those inside a transaction); set them on the connection before migrating.
public struct Migrator: Sendable {
    /// The migrations, in order; their versions are 1, 2, 3, ...
    public let migrations: [Migration]

    /// The version a fully migrated database has (0 when there are no migrations).
    public var latestVersion: Int32 { migrations.last?.version ?? 0 }

    /// Takes migrations numbered 1, 2, 3, ... in that order; anything else is a programming error and traps.
    public init(_ migrations: [Migration]) {
        for (offset, migration) in migrations.enumerated() {
            precondition(
                Int(migration.version) == offset + 1,
                "migration versions must be 1, 2, 3, ... in order; found \(migration.version) at position \(offset + 1)"
            )
        }
        self.migrations = migrations
    }

    /// Applies every migration newer than the database's `user_version`; returns the versions before and after.
    ///
    /// Throws `MigrationError` (touching nothing) when the file is newer than this program knows. A failing
    /// migration's `SQLiteError` comes back with context "migration N (name)"; other errors are wrapped in a
    /// `MigrationError` that names the migration.
    @discardableResult
    public func migrate(_ db: Connection) throws -> (from: Int32, to: Int32) {
        let initialVersion = try db.userVersion
        guard initialVersion <= latestVersion else {
            throw MigrationError.databaseIsNewer(databaseVersion: initialVersion, knownVersion: latestVersion)
        }
        for migration in migrations where migration.version > initialVersion {
            let label = "migration \(migration.version) (\(migration.name))"
            do {
                try db.inTransaction(.immediate) {
                    // Another process may have migrated while we waited for the write lock.
                    guard try db.userVersion < migration.version else { return }
                    try migration.apply(db)
                    try db.setUserVersion(migration.version)
                }
            } catch let error as SQLiteError {
                throw error.adding(context: label)
            } catch let error as MigrationError {
                throw error
            } catch {
                throw MigrationError.migrationFailed(version: migration.version, name: migration.name, error: error)
            }
        }
        return (from: initialVersion, to: max(initialVersion, latestVersion))
    }
}

/// Why `Migrator.migrate` refused or failed, when SQLite itself did not report the problem.
public struct MigrationError: Error, CustomStringConvertible, Sendable {
    private enum Reason: Sendable {
        case databaseIsNewer(databaseVersion: Int32, knownVersion: Int32)
        case migrationFailed(version: Int32, name: String, error: any Error)
    }

    private let reason: Reason

    /// The file's `user_version` is beyond the last migration this program has: it was written by a newer build.
    public static func databaseIsNewer(databaseVersion: Int32, knownVersion: Int32) -> MigrationError {
        MigrationError(reason: .databaseIsNewer(databaseVersion: databaseVersion, knownVersion: knownVersion))
    }

    /// A migration threw an error that is not a `SQLiteError`; it was rolled back.
    public static func migrationFailed(version: Int32, name: String, error: any Error) -> MigrationError {
        MigrationError(reason: .migrationFailed(version: version, name: name, error: error))
    }

    /// The database's `user_version` when it is newer than this program knows, else nil.
    public var newerDatabaseVersion: Int32? {
        if case .databaseIsNewer(let version, _) = reason { return version }
        return nil
    }

    /// The error a failing migration threw, when it was not a `SQLiteError`, else nil.
    public var underlyingError: (any Error)? {
        if case .migrationFailed(_, _, let error) = reason { return error }
        return nil
    }

    /// One line saying what was refused or which migration failed, and why.
    public var description: String {
        switch reason {
        case .databaseIsNewer(let databaseVersion, let knownVersion):
            "database schema version \(databaseVersion) is newer than this program knows (\(knownVersion)); "
                + "refusing to touch it"
        case .migrationFailed(let version, let name, let error):
            "migration \(version) (\(name)) failed: \(error)"
        }
    }
}
