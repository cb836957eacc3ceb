import ArgumentParser
import Foundation
import PresenceSync

/// `presence-sync replay --sink NAME --since TIME`: re-sends history to a sink that exists.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-send the history since a time to a sink, marked as replayed, with the original ids.",
        discussion: """
            Records the request in the database; the daemon (running, or when it next starts) re-sends the changes \
            from TIME up to where the sink's cursor is now, a page at a time between its live events, each \
            with its first id and the CloudEvents attribute "replayed": true. A newer request replaces an \
            unfinished one. `outbox status` shows the progress.
            Example: presence-sync replay --sink crm --since 2026-11-29T08:00:00Z --config /etc/presence-sync/config.json
            """
    )

    @Option(name: .long, help: "The daemon's configuration (names the sinks and the database).") var config: String
    @Option(name: .long, help: "A webhook endpoint's name (events.webhooks[].name), or stdout.") var sink: String
    @Option(
        name: .long,
        help: "Re-send changes from this time: 2026-11-29T08:00:00Z, 2026-11-29 (local midnight), or an age (24h).")
    var since: String
    @Flag(name: .long, help: "Read --since in UTC rather than the local time zone when it has no offset.")
    var utc = false

    func validate() throws {
        guard let time = TimeText(utc: utc).parse(since, now: .now()) else {
            throw ValidationError(
                "--since '\(since)' is not a time such as 2026-11-29T08:00:00Z, 2026-11-29 or 24h")
        }
        guard time <= .now() else { throw ValidationError("--since \(time.iso8601) is in the future") }
    }

    func run() async throws {
        try await reportingFailures {
            let configuration = loadConfigurationOrExit(config)
            let webhook = sink.hasPrefix("webhook:") ? String(sink.dropFirst(8)) : sink
            let cursorName: String
            if sink == "stdout" && configuration.events.stdout {
                cursorName = "stdout"
            } else if let endpoint = configuration.events.webhooks.first(where: { $0.name == webhook }) {
                cursorName = endpoint.cursorName
            } else {
                let known = configuration.events.outboxSinks
                printError(
                    "replay: no sink named '\(sink)' in \(config)"
                        + (known.isEmpty ? " (none is configured)" : " (configured: \(known.joined(separator: ", ")))"))
                throw ExitCode(64)
            }
            let time = TimeText(utc: utc).parse(since, now: .now()) ?? .now()
            guard
                let request = try OutboxMaintenance.requestReplay(
                    path: configuration.databasePath, sink: cursorName, since: time,
                    newSinkWindowHours: configuration.events.outboxRetentionHours)
            else {
                print("nothing to replay: \(cursorName) has delivered nothing recorded since \(time.iso8601)")
                return
            }
            if let warning = request.warning { printError("replay: warning: \(warning)") }
            print(
                "replay of \(request.backfill.total) events to \(cursorName) recorded (history ids "
                    + "\(request.backfill.first + 1) through \(request.backfill.through)); the daemon sends them "
                    + "beside its live events, `outbox status` shows the progress")
        }
    }
}
