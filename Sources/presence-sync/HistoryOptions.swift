import ArgumentParser
import Foundation
import PresenceSync

/// Options shared by the history commands: where the database is, how to print, which time zone.
struct HistoryOptions: ParsableArguments {
    @Option(name: .long, help: "The database file (default: the one the --config file names).")
    var db: String?

    @Option(name: .long, help: "The daemon's configuration: finds the database, and resolves UPNs through Graph.")
    var config: String?

    @Flag(help: "Print a JSON array of objects.") var json = false
    @Flag(help: "Print CSV (RFC 4180) with a header line.") var csv = false
    @Flag(help: "Show and read times in UTC instead of the local time zone.") var utc = false

    func validate() throws {
        if json && csv { throw ValidationError("--json and --csv exclude each other") }
        if db == nil && config == nil { throw ValidationError("give --db FILE or --config FILE to find the database") }
    }

    var format: OutputTable.Format { json ? .json : csv ? .csv : .table }
    var time: TimeText { TimeText(utc: utc) }

    /// The database path: `--db`, else the configuration's `database`.
    func databasePath() -> String {
        if let db { return db }
        return loadConfigurationOrExit(config ?? "").databasePath
    }

    /// Opens the database read-only.
    func open() throws -> HistoryDatabase {
        try HistoryDatabase(path: databasePath())
    }

    /// The tracked object id of `user` (an object id, or a UPN resolved through Graph with `--config`).
    ///
    /// Fails with one clear line when the UPN cannot be resolved without a config, or the user is not tracked.
    func trackedUser(_ user: String, in database: HistoryDatabase) async throws -> String {
        let id: String
        switch UserReference(user) {
        case .objectID(let objectID):
            id = objectID
        case .userPrincipalName(let upn):
            guard let config else {
                throw CommandFailure(
                    "'\(upn)' is not an object id; resolving a user principal name asks Microsoft Graph, which needs "
                        + "--config FILE (or give the user's object id)")
            }
            id = try await GraphCommandContext.withGraph(config: config) { try await $0.objectID(upn) }
        }
        guard try database.isTracked(id) else {
            let named = id == user.lowercased() ? id : "\(user) (\(id))"
            throw CommandFailure("\(named) is not tracked: \(database.path) holds no presence for this user")
        }
        return id
    }

    /// Prints `table` in the chosen format.
    func print(_ table: OutputTable) {
        Swift.print(table.render(format), terminator: "")
    }

    /// Reads a `--since`/`--until` value; a ValidationError-style failure names the option.
    func timestamp(_ text: String?, option: String, now: Timestamp) throws -> Timestamp? {
        guard let text else { return nil }
        guard let timestamp = time.parse(text, now: now) else {
            throw CommandFailure(
                "\(option) '\(text)' is not a time: use 2026-11-01, 2026-11-01T08:00, an ISO time with Z or an "
                    + "offset, or an age such as 7d or 12h")
        }
        return timestamp
    }
}

extension HistoryOptions {
    /// A time cell: for people in the display zone, for CSV/JSON as ISO 8601 with offset; nil stays empty.
    func when(_ timestamp: Timestamp?) -> OutputCell {
        guard let timestamp else { return .text(nil) }
        return .text(format == .table ? time.display(timestamp) : time.machine(timestamp))
    }

    /// A duration cell: `1h 05m` for people, seconds with millisecond precision for CSV/JSON (so sums are exact).
    func span(milliseconds: Int64) -> OutputCell {
        format == .table
            ? .text(TimeText.duration(milliseconds: milliseconds)) : .decimal(Double(milliseconds) / 1000, places: 3)
    }
}
