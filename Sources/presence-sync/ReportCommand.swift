import ArgumentParser
import PresenceSync

/// `presence-sync report [--since ...] [--until ...] [--by availability|activity]`: time per state per user.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Time each user spent in each state over a window, from the history (read-only).",
        discussion: """
            Intervals come from valid_from/valid_to; the current state counts until now; everything is clipped to
            the window (default: from the start of the history until now). Each user's states add up to the part of
            the window the history covers (the "total" lines; CSV/JSON give seconds and the covered seconds).
            Example: presence-sync report --since 7d --by activity --config /etc/presence-sync/config.json
                     presence-sync report --since 2026-11-01 --until 2026-12-01 --db presence.db --csv
            """
    )

    @OptionGroup var options: HistoryOptions
    @Option(help: "Window start (default: the start of the history).") var since: String?
    @Option(help: "Window end (default: now).") var until: String?
    @Option(help: "Group by availability or activity.") var by: String = ReportGrouping.availability.rawValue
    @Option(help: "Only this user (object id, or UPN with --config).") var user: String?

    func validate() throws {
        guard ReportGrouping(rawValue: by) != nil else {
            throw ValidationError("--by '\(by)' must be availability or activity")
        }
    }

    func run() async throws {
        try await reportingFailures {
            let now = Timestamp.now()
            let database = try options.open()
            var id: String?
            if let user { id = try await options.trackedUser(user, in: database) }
            let until = try options.timestamp(self.until, option: "--until", now: now) ?? now
            guard let from = try options.timestamp(since, option: "--since", now: now) ?? database.historyStart(of: id)
            else {
                throw CommandFailure("\(database.path) holds no history yet")
            }
            guard from < until else { throw CommandFailure("the window is empty: --since must be before --until") }
            let report = try database.report(
                from: from, to: until, now: now, by: ReportGrouping(rawValue: by) ?? .availability, userID: id)
            let covered = Dictionary(report.coveredMilliseconds.map { ($0.userID, $0.milliseconds) }) { $1 }
            var table = OutputTable(["user_id", by, "time", "share", "covered"])
            var previousUser: String?
            for row in report.rows {
                let userTotal = covered[row.userID] ?? 0
                if options.format == .table, let previous = previousUser, previous != row.userID {
                    appendTotal(&table, user: previous, milliseconds: covered[previous] ?? 0)
                }
                previousUser = row.userID
                let share = userTotal > 0 ? Double(row.milliseconds) * 100 / Double(userTotal) : 0
                table.append([
                    .text(row.userID), .text(row.state), options.span(milliseconds: row.milliseconds),
                    .decimal(share, places: 1), options.span(milliseconds: userTotal),
                ])
            }
            if options.format == .table, let previousUser {
                appendTotal(&table, user: previousUser, milliseconds: covered[previousUser] ?? 0)
            }
            if options.format == .table {
                let span = report.to.millisecondsSinceEpoch - report.from.millisecondsSinceEpoch
                print(
                    "window \(options.time.display(report.from)) – \(options.time.display(report.to)) "
                        + "(\(TimeText.duration(milliseconds: span)))"
                )
            }
            options.print(table)
        }
    }

    private func appendTotal(_ table: inout OutputTable, user: String, milliseconds: Int64) {
        table.append([
            .text(user), .text("total"), options.span(milliseconds: milliseconds), .decimal(100, places: 1),
            options.span(milliseconds: milliseconds),
        ])
    }
}
