import ArgumentParser
import PresenceSync

/// `presence-sync presence set USER --availability A --activity B [--expires PT1H]`.
struct PresenceSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set the application's presence session for a user (setPresence).",
        discussion: """
            Allowed pairs (availability/activity):
              \(PresenceRules.sessionPairs.map(\.description).joined(separator: ", ")).
            --expires: PT5M to PT4H (Graph's default PT5M). The session id is the config's clientId.
            Example: presence-sync presence set adele@contoso.com --availability Busy --activity InACall \\
                       --expires PT1H --config /etc/presence-sync/config.json
            """
    )

    @OptionGroup var graph: GraphCommandOptions
    @Argument(help: "Object id or user principal name.") var user: String
    @Option(help: "Available, Busy, Away or DoNotDisturb.") var availability: String
    @Option(help: "Available, InACall, InAConferenceCall, Away or Presenting (must match the availability).")
    var activity: String
    @Option(help: "How long the session lasts, ISO 8601 (PT5M to PT4H).") var expires: String?

    func validate() throws {
        do {
            _ = try PresenceRules.pair(
                availability: availability, activity: activity, allowed: PresenceRules.sessionPairs, api: "setPresence")
            _ = try PresenceRules.sessionDuration(expires)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let pair = try PresenceRules.pair(
            availability: availability, activity: activity, allowed: PresenceRules.sessionPairs, api: "setPresence")
        let duration = try PresenceRules.sessionDuration(expires)
        try await reportingFailures {
            try await GraphCommandContext.withGraph(config: graph.config) { context in
                let id = try await context.objectID(user)
                let requestID = try await context.presence.setPresence(of: id, pair, expirationDuration: duration)
                print(
                    "set \(pair) for \(user) (session \(context.configuration.clientID), "
                        + "expires after \(duration ?? "PT5M"))"
                        + (requestID.map { " [request-id \($0)]" } ?? ""))
            }
        }
    }
}

/// `presence-sync presence clear USER`.
struct PresenceClearCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clear",
        abstract: "End the application's presence session for a user (clearPresence).",
        discussion: "Example: presence-sync presence clear adele@contoso.com --config /etc/presence-sync/config.json"
    )

    @OptionGroup var graph: GraphCommandOptions
    @Argument(help: "Object id or user principal name.") var user: String

    func run() async throws {
        try await reportingFailures {
            try await GraphCommandContext.withGraph(config: graph.config) { context in
                let id = try await context.objectID(user)
                do {
                    let requestID = try await context.presence.clearPresence(of: id)
                    print("cleared the presence session of \(user)" + (requestID.map { " [request-id \($0)]" } ?? ""))
                } catch let error as GraphError where error.httpStatus == 404 {
                    throw CommandFailure(
                        "\(user) has no presence session of this application (\(context.configuration.clientID)) to "
                            + "clear: it was never set, was cleared already, or expired. Graph answered 404 "
                            + "\(error.graphCode ?? "")" + (error.requestID.map { " [request-id \($0)]" } ?? ""))
                }
            }
        }
    }
}

/// `presence-sync presence set-preferred USER --availability A --activity B [--expires P1D]`.
struct PresenceSetPreferredCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-preferred",
        abstract: "Set a user's preferred presence, which wins over every session (setUserPreferredPresence).",
        discussion: """
            Allowed pairs (availability/activity):
              \(PresenceRules.preferredPairs.map(\.description).joined(separator: ", ")).
            --expires: an ISO 8601 duration; Graph's default is 1 day for Busy and DoNotDisturb, else 7 days.
            Example: presence-sync presence set-preferred adele@contoso.com --availability DoNotDisturb \\
                       --activity DoNotDisturb --expires PT8H --config /etc/presence-sync/config.json
            """
    )

    @OptionGroup var graph: GraphCommandOptions
    @Argument(help: "Object id or user principal name.") var user: String
    @Option(help: "Available, Busy, DoNotDisturb, BeRightBack, Away or Offline.") var availability: String
    @Option(help: "The activity that goes with the availability (OffWork for Offline, otherwise the same word).")
    var activity: String
    @Option(help: "How long the preference lasts, ISO 8601 (e.g. PT8H, P1D).") var expires: String?

    func validate() throws {
        do {
            _ = try PresenceRules.pair(
                availability: availability, activity: activity, allowed: PresenceRules.preferredPairs,
                api: "setUserPreferredPresence")
            _ = try PresenceRules.preferredDuration(expires)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let pair = try PresenceRules.pair(
            availability: availability, activity: activity, allowed: PresenceRules.preferredPairs,
            api: "setUserPreferredPresence")
        let duration = try PresenceRules.preferredDuration(expires)
        try await reportingFailures {
            try await GraphCommandContext.withGraph(config: graph.config) { context in
                let id = try await context.objectID(user)
                let requestID = try await context.presence.setPreferredPresence(
                    of: id, pair, expirationDuration: duration)
                print(
                    "set preferred presence \(pair) for \(user)" + (duration.map { " for \($0)" } ?? "")
                        + (requestID.map { " [request-id \($0)]" } ?? ""))
            }
        }
    }
}

/// `presence-sync presence clear-preferred USER`.
struct PresenceClearPreferredCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clear-preferred",
        abstract: "Remove a user's preferred presence (clearUserPreferredPresence).",
        discussion:
            "Example: presence-sync presence clear-preferred adele@contoso.com --config /etc/presence-sync/config.json"
    )

    @OptionGroup var graph: GraphCommandOptions
    @Argument(help: "Object id or user principal name.") var user: String

    func run() async throws {
        try await reportingFailures {
            try await GraphCommandContext.withGraph(config: graph.config) { context in
                let id = try await context.objectID(user)
                let requestID = try await context.presence.clearPreferredPresence(of: id)
                print("cleared the preferred presence of \(user)" + (requestID.map { " [request-id \($0)]" } ?? ""))
            }
        }
    }
}
