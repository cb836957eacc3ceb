import ArgumentParser
import PresenceSync

/// `presence-sync since USER`: since when a user is in their state, and when they were last Available.
struct SinceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "since",
        abstract: "Say since when a user is in their current state and when they were last Available (\"last seen\").",
        discussion: """
            Example: presence-sync since adele@contoso.com --config /etc/presence-sync/config.json
                     presence-sync since fa8bf3dc-eca7-46b7-bad1-db199b62afc3 --db presence.db --json
            """
    )

    @OptionGroup var options: HistoryOptions
    @Argument(help: "Object id, or user principal name with --config.") var user: String

    func run() async throws {
        try await reportingFailures {
            let now = Timestamp.now()
            let database = try options.open()
            let id = try await options.trackedUser(user, in: database)
            guard let answer = try database.since(id) else {
                throw CommandFailure("\(user) is not tracked: \(database.path) holds no current presence for this user")
            }
            let current = answer.current
            let inState = now.millisecondsSinceEpoch - current.since.millisecondsSinceEpoch
            if options.format == .table {
                var lines = [
                    "\(user): \(current.state.availability) (\(current.state.activity)) since "
                        + "\(options.time.display(current.since)), for \(TimeText.duration(milliseconds: inState))"
                ]
                switch answer.lastAvailable {
                case .now:
                    lines.append("last Available: now")
                case .at(let timestamp):
                    let ago = TimeText.duration(
                        milliseconds: now.millisecondsSinceEpoch - timestamp.millisecondsSinceEpoch)
                    lines.append("last Available: \(options.time.display(timestamp)) (\(ago) ago)")
                case .never(let start):
                    lines.append(
                        "last Available: never since the history began"
                            + (start.map { " (\(options.time.display($0)))" } ?? ""))
                }
                lines.append("last confirmed by Graph: \(options.time.display(current.lastSeen))")
                print(lines.joined(separator: "\n"))
                return
            }
            var table = OutputTable([
                "user_id", "availability", "activity", "since", "in_state", "last_available", "history_start",
                "last_seen",
            ])
            let lastAvailable: OutputCell
            var historyStart: Timestamp?
            switch answer.lastAvailable {
            case .now: lastAvailable = .text("now")
            case .at(let timestamp): lastAvailable = options.when(timestamp)
            case .never(let start):
                lastAvailable = .text(nil)
                historyStart = start
            }
            table.append([
                .text(id), .text(current.state.availability), .text(current.state.activity),
                options.when(current.since),
                options.span(milliseconds: inState), lastAvailable, options.when(historyStart),
                options.when(current.lastSeen),
            ])
            options.print(table)
        }
    }
}
