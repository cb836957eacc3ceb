import ArgumentParser
import PresenceSync

/// `presence-sync history USER [--since 2026-11-01] [--until ...]`: the timeline of one user.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show one user's presence timeline from the database (read-only).",
        discussion: """
            --since/--until take 2026-11-01, 2026-11-01T08:00 (local time, UTC with --utc), an ISO time with Z or
            an offset, or an age such as 7d or 12h. States overlapping the window are shown whole.
            Example: presence-sync history adele@contoso.com --since 2026-11-01 --config /etc/presence-sync/config.json
                     presence-sync history fa8bf3dc-eca7-46b7-bad1-db199b62afc3 --since 24h --db presence.db --csv
            """
    )

    @OptionGroup var options: HistoryOptions
    @Argument(help: "Object id, or user principal name with --config.") var user: String
    @Option(help: "Only states still held at or after this time.") var since: String?
    @Option(help: "Only states that began before this time.") var until: String?

    func run() async throws {
        try await reportingFailures {
            let now = Timestamp.now()
            let from = try options.timestamp(since, option: "--since", now: now)
            let to = try options.timestamp(until, option: "--until", now: now)
            let database = try options.open()
            let id = try await options.trackedUser(user, in: database)
            var table = OutputTable([
                "valid_from", "valid_to", "duration", "availability", "activity", "status_message", "out_of_office",
                "work_location", "changed_fields",
            ])
            for entry in try database.timeline(of: id, from: from, to: to) {
                let end = entry.validTo ?? now
                table.append([
                    options.when(entry.validFrom),
                    entry.validTo == nil ? .text(options.format == .table ? "now" : nil) : options.when(entry.validTo),
                    options.span(milliseconds: end.millisecondsSinceEpoch - entry.validFrom.millisecondsSinceEpoch),
                    .text(entry.state.availability), .text(entry.state.activity), .text(entry.state.statusMessage),
                    .bool(entry.state.isOutOfOffice), .text(entry.state.workLocationType),
                    .text(entry.changedFields.joined(separator: ",")),
                ])
            }
            options.print(table)
        }
    }
}
