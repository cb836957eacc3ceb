import ArgumentParser
import PresenceSync

/// `presence-sync current [--availability Busy] [--user U]`: the current state of tracked users.
struct CurrentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "current",
        abstract: "Show the current presence of tracked users, from the database (read-only).",
        discussion: """
            Example: presence-sync current --availability Busy --config /etc/presence-sync/config.json
                     presence-sync current --user adele@contoso.com --config config.json --json
            """
    )

    @OptionGroup var options: HistoryOptions
    @Option(help: "Only users with this availability (Available, Busy, Away, ...; any case).") var availability: String?
    @Option(help: "Only this user (object id, or UPN with --config).") var user: String?
    @Flag(help: "Also users no longer tracked (their last known state, which is not their state now).")
    var includeUntracked = false

    func run() async throws {
        try await reportingFailures {
            let database = try options.open()
            var id: String?
            if let user { id = try await options.trackedUser(user, in: database) }
            let rows = try database.current(
                availability: availability, userID: id, includeUntracked: includeUntracked)
            let now = Timestamp.now()
            var table = OutputTable([
                "user_id", "availability", "activity", "since", "in_state", "status_message", "out_of_office",
                "work_location", "last_seen",
            ])
            for row in rows {
                table.append([
                    .text(row.userID), .text(row.state.availability), .text(row.state.activity),
                    options.when(row.since),
                    options.span(milliseconds: now.millisecondsSinceEpoch - row.since.millisecondsSinceEpoch),
                    .text(row.state.statusMessage), .bool(row.state.isOutOfOffice), .text(row.state.workLocationType),
                    options.when(row.lastSeen),
                ])
            }
            options.print(table)
        }
    }
}
