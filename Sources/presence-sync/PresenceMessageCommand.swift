import ArgumentParser
import Foundation
import PresenceSync

/// `presence-sync presence set-message USER "text" [--expires 2026-12-01T17:00]` and `--clear`.
struct PresenceSetMessageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-message",
        abstract: "Set or clear a user's status message (setStatusMessage).",
        discussion: """
            --expires is a wall-clock time in the local time zone (or the one given with --time-zone); it is sent
            as Graph's dateTimeTimeZone. Without it the message does not expire.
            Example: presence-sync presence set-message adele@contoso.com "In workshops all day" \\
                       --expires 2026-12-01T17:00 --config /etc/presence-sync/config.json
                     presence-sync presence set-message adele@contoso.com --clear --config config.json
            """
    )

    @OptionGroup var graph: GraphCommandOptions
    @Argument(help: "Object id or user principal name.") var user: String
    @Argument(help: "The message text (plain text).") var text: String?
    @Option(help: "When the message ends: YYYY-MM-DDTHH:MM[:SS], local wall-clock time.") var expires: String?
    @Option(help: "The time zone of --expires (IANA name such as Europe/Paris, or UTC); default: the local one.")
    var timeZone: String?
    @Flag(help: "Remove the status message instead of setting one.") var clear = false

    func validate() throws {
        if clear {
            guard text == nil, expires == nil else { throw ValidationError("--clear takes no text and no --expires") }
        } else {
            guard let text, !text.isEmpty else {
                throw ValidationError("give the message text, or --clear to remove the message")
            }
        }
        _ = try expiry()
    }

    /// `--expires` as Graph's dateTimeTimeZone, checked before any request.
    func expiry() throws -> PresenceWriteClient.Expiry? {
        guard let expires else { return nil }
        let pattern = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2})?$/
        guard let match = expires.wholeMatch(of: pattern) else {
            throw ValidationError("--expires '\(expires)' is not a time such as 2026-12-01T17:00")
        }
        let zoneName = timeZone ?? TimeZone.current.identifier
        guard let zone = TimeZone(identifier: zoneName) else {
            throw ValidationError("--time-zone '\(zoneName)' is not a time zone name such as Europe/Paris or UTC")
        }
        let dateTime = "\(match.1)T\(match.2)\(match.3 ?? ":00")"
        if let zoned = TimeText(utc: zone.identifier == "UTC").parse(dateTime + offset(zone), now: .now()),
            zoned < .now()
        {
            throw ValidationError("--expires \(expires) (\(zone.identifier)) is in the past")
        }
        return PresenceWriteClient.Expiry(
            dateTime: dateTime, timeZone: zone.identifier == "GMT" ? "UTC" : zone.identifier)
    }

    /// The zone's current offset as `+01:00`, to check the expiry against now.
    private func offset(_ zone: TimeZone) -> String {
        let seconds = zone.secondsFromGMT()
        let minutes = abs(seconds) / 60
        return (seconds < 0 ? "-" : "+") + String(format: "%02d:%02d", minutes / 60, minutes % 60)
    }

    func run() async throws {
        let expiry = try expiry()
        try await reportingFailures {
            try await GraphCommandContext.withGraph(config: graph.config) { context in
                let id = try await context.objectID(user)
                let requestID = try await context.presence.setStatusMessage(
                    of: id, clear ? "" : text ?? "", expiry: expiry)
                let what = clear ? "cleared the status message of \(user)" : "set the status message of \(user)"
                let until = expiry.map { " until \($0.dateTime) \($0.timeZone)" } ?? ""
                print(what + until + (requestID.map { " [request-id \($0)]" } ?? ""))
            }
        }
    }
}
