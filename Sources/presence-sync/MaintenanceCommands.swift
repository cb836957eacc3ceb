import ArgumentParser
import Foundation
import PresenceSync

/// `presence-sync prune --older-than 180d`: deletes closed history rows past the retention.
struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete history rows that ended more than a given time ago; never the current state.",
        discussion: """
            Deletes closed rows of presence_history whose valid_to is older than --older-than; open rows and the
            current state are kept. Safe while the daemon runs (small transactions). Freed space goes back to the
            file system on databases created with auto_vacuum=INCREMENTAL (every database this version creates);
            older files reuse it for new rows. For automatic retention set "history": {"retentionDays": N}.
            Example: presence-sync prune --older-than 180d --config /etc/presence-sync/config.json
            """
    )

    @Option(name: .long, help: "The database file (default: the one the --config file names).") var db: String?
    @Option(name: .long, help: "The daemon's configuration, to find the database.") var config: String?
    @Option(help: "Age of the rows to delete: 180d, 26w, 12h.") var olderThan: String

    func validate() throws {
        if db == nil && config == nil { throw ValidationError("give --db FILE or --config FILE to find the database") }
        guard let age = TimeText.age(olderThan), age > 0 else {
            throw ValidationError("--older-than '\(olderThan)' is not an age such as 180d, 26w or 12h")
        }
    }

    func run() async throws {
        try await reportingFailures {
            let path = db ?? loadConfigurationOrExit(config ?? "").databasePath
            let now = Timestamp.now()
            let cutoff = Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - (TimeText.age(olderThan) ?? 0))
            let result = try HistoryMaintenance.prune(path: path, before: cutoff)
            var text = "deleted \(result.rowsDeleted) history rows that ended before \(cutoff.iso8601)"
            if result.incrementalVacuum {
                text += "; returned \(result.pagesReclaimed) pages to the file system"
            } else {
                text +=
                    "; this database predates auto_vacuum=INCREMENTAL: the space is reused by new rows "
                    + "(run VACUUM with the daemon stopped to shrink the file)"
            }
            print(text)
        }
    }
}

/// `presence-sync backup FILE`: a consistent copy through SQLite's online backup API.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the live database consistently to a new file (SQLite online backup); never overwrites.",
        discussion: """
            Safe while the daemon runs: the copy holds every batch committed when it finished, as one self-contained
            file. An existing FILE is refused.
            Example: presence-sync backup /var/backups/presence-$(date +%F).db --config /etc/presence-sync/config.json
            """
    )

    @Option(name: .long, help: "The database file (default: the one the --config file names).") var db: String?
    @Option(name: .long, help: "The daemon's configuration, to find the database.") var config: String?
    @Argument(help: "The new file to write.") var file: String

    func validate() throws {
        if db == nil && config == nil { throw ValidationError("give --db FILE or --config FILE to find the database") }
    }

    func run() async throws {
        try await reportingFailures {
            guard !FileManager.default.fileExists(atPath: file) else {
                throw CommandFailure("\(file) already exists; backup never overwrites a file (choose a new name)")
            }
            let path = db ?? loadConfigurationOrExit(config ?? "").databasePath
            try HistoryMaintenance.backup(path: path, to: file)
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            print("backed up \(path) to \(file) (\(size) bytes)")
        }
    }
}
