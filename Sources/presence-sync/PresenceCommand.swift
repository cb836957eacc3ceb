import ArgumentParser
import Foundation
import PresenceSync

/// `presence-sync presence …`: the Presence API for operators, with the daemon's config and sign-in.
struct PresenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presence",
        abstract: "Read or set one user's presence through Microsoft Graph (Presence.ReadWrite.All).",
        discussion: """
            USER is an object id or a user principal name (resolved with GET /users/{upn}, User.Read.All).
            Example: presence-sync presence get adele@contoso.com --config /etc/presence-sync/config.json
            """,
        subcommands: [
            PresenceGetCommand.self, PresenceSetCommand.self, PresenceClearCommand.self,
            PresenceSetPreferredCommand.self, PresenceClearPreferredCommand.self, PresenceSetMessageCommand.self,
        ]
    )
}

/// The options every `presence` subcommand shares.
struct GraphCommandOptions: ParsableArguments {
    @Option(name: .long, help: "The daemon's configuration file (JSON): tenant, app and Graph endpoints.")
    var config: String
}

/// `presence-sync presence get USER`.
struct PresenceGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Show a user's presence (GET /users/{id}/presence).",
        discussion: "Example: presence-sync presence get adele@contoso.com --config /etc/presence-sync/config.json"
    )

    @OptionGroup var graph: GraphCommandOptions
    @Argument(help: "Object id or user principal name.") var user: String
    @Flag(help: "Print Graph's presence object as it came.") var json = false

    func run() async throws {
        try await reportingFailures {
            try await GraphCommandContext.withGraph(config: graph.config) { context in
                let id = try await context.objectID(user)
                let presence = try await context.presence.presence(of: id)
                if json {
                    print(String(decoding: presence.json, as: UTF8.self))
                    return
                }
                let state = presence.observation.state
                var lines = [
                    "user           \(id)" + (id == user.lowercased() ? "" : " (\(user))"),
                    "availability   \(state.availability)",
                    "activity       \(state.activity)",
                    "status message \(state.statusMessage.map { OutputTable.jsonString($0) } ?? "-")",
                    "out of office  \(state.isOutOfOffice ? "yes" : "no")"
                        + (state.outOfOfficeMessage.map { " (\(OutputTable.jsonString($0)))" } ?? ""),
                    "work location  \(state.workLocationType ?? "-")",
                ]
                if let sequence = presence.observation.sequenceNumber { lines.append("sequence       \(sequence)") }
                print(lines.joined(separator: "\n"))
            }
        }
    }
}
