import ArgumentParser
import Foundation
import PresenceSync

/// `presence-sync outbox ...`: the operator's view of event delivery.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Inspect event delivery: backlog per sink, dead letters, requeue them, purge delivered events.",
        subcommands: [
            OutboxStatusCommand.self, OutboxListCommand.self, OutboxRetryCommand.self, OutboxEnableCommand.self,
            OutboxPurgeCommand.self,
        ]
    )
}

/// `presence-sync outbox status`: per sink, how far it delivered, backlog, oldest pending, dead letters.
struct OutboxStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Per sink (stdout, each webhook): delivered through, backlog, oldest pending, dead letters.",
        discussion: "Example: presence-sync outbox status --config /etc/presence-sync/config.json"
    )

    @Option(name: .long, help: "The daemon's configuration (names the sinks and the database).") var config: String

    func run() async throws {
        try await reportingFailures {
            let configuration = loadConfigurationOrExit(config)
            let now = Timestamp.now().millisecondsSinceEpoch
            let rows = try OutboxMaintenance.status(
                path: configuration.databasePath, sinks: configuration.events.outboxSinks,
                newSinkWindowHours: configuration.events.outboxRetentionHours)
            if rows.isEmpty {
                print("no sink reads the outbox (events.stdout is false and no webhooks are configured)")
            }
            for row in rows {
                let age = row.oldestPending.map { "\((now - $0.millisecondsSinceEpoch) / 1000) s" } ?? "-"
                var line =
                    "\(row.sink): delivered through \(row.deliveredThrough), backlog \(row.backlog), "
                    + "oldest pending \(age), dead letters \(row.deadLetters)"
                if let reason = row.disabledReason { line += ", DISABLED (\(reason))" }
                if let backfill = row.backfill {
                    switch backfill.kind {
                    case .snapshot:
                        line +=
                            ", snapshot as of history id \(backfill.through): \(row.backfillSent) of \(backfill.total) users sent"
                    case .replay:
                        line +=
                            ", replay since \(backfill.since?.iso8601 ?? "?") (ids \(backfill.first + 1)-\(backfill.through)): "
                            + "\(row.backfillSent) of \(backfill.total) events sent"
                    }
                }
                print(line)
            }
        }
    }
}

/// `presence-sync outbox list --dead`: the events webhook endpoints gave up on.
struct OutboxListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List dead letters: events a webhook endpoint gave up on, with the last error.",
        discussion: "Example: presence-sync outbox list --dead --config /etc/presence-sync/config.json"
    )

    @Option(name: .long, help: "The daemon's configuration (names the database).") var config: String
    @Flag(name: .long, help: "List dead letters (the only listing so far).") var dead = false
    @Option(name: .long, help: "Only this endpoint's dead letters.") var endpoint: String?

    func validate() throws {
        guard dead else { throw ValidationError("give --dead (the only listing so far)") }
    }

    func run() async throws {
        try await reportingFailures {
            let configuration = loadConfigurationOrExit(config)
            let letters = try OutboxMaintenance.deadLetters(path: configuration.databasePath, endpoint: endpoint)
            for letter in letters {
                print(
                    "\(letter.endpoint)\t\(letter.historyID)\t\(letter.userID)\t\(letter.failedAt)\t"
                        + "\(letter.attempts) attempts\t\(letter.lastError)")
            }
            if letters.isEmpty { print("no dead letters") }
        }
    }
}

/// `presence-sync outbox purge --delivered-before 24h`: deletes migrated events every sink has delivered. Since
/// schema 9 an event is its history row, which goes with history retention (`prune`), never before it is delivered;
/// only events carried over from an older file (`outbox_legacy`) are deleted here.
struct OutboxPurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract:
            "Delete delivered events carried over from schema 8 or older; the others go with their history rows (prune).",
        discussion: "Example: presence-sync outbox purge --delivered-before 24h --config /etc/presence-sync/config.json"
    )

    @Option(name: .long, help: "The daemon's configuration (names the sinks and the database).") var config: String
    @Option(help: "Age of the events to delete: 7d, 24h, 30m.") var deliveredBefore: String

    func validate() throws {
        guard let age = TimeText.age(deliveredBefore), age >= 0 else {
            throw ValidationError("--delivered-before '\(deliveredBefore)' is not an age such as 7d or 24h")
        }
    }

    func run() async throws {
        try await reportingFailures {
            let configuration = loadConfigurationOrExit(config)
            let now = Timestamp.now().millisecondsSinceEpoch
            let cutoff = Timestamp(millisecondsSinceEpoch: now - (TimeText.age(deliveredBefore) ?? 0))
            let deleted = try OutboxMaintenance.purge(
                path: configuration.databasePath, deliveredBefore: cutoff, sinks: configuration.events.outboxSinks)
            print(
                "deleted \(deleted) delivered events older than \(cutoff.iso8601) carried over from an older file; "
                    + "other events are history rows, deleted with them by prune or history.retentionDays")
        }
    }
}

/// `presence-sync outbox retry`: requeues dead letters; the running daemon sends them again.
struct OutboxRetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Requeue dead letters: the running daemon sends them again (outside per-user order).",
        discussion: "Example: presence-sync outbox retry --endpoint main --config /etc/presence-sync/config.json"
    )

    @Option(name: .long, help: "The daemon's configuration (names the database).") var config: String
    @Option(name: .long, help: "Only this endpoint's dead letters (default: all).") var endpoint: String?

    func run() async throws {
        try await reportingFailures {
            let configuration = loadConfigurationOrExit(config)
            let count = try OutboxMaintenance.requeueDeadLetters(path: configuration.databasePath, endpoint: endpoint)
            print("requeued \(count) dead letters; the daemon sends them again when the endpoint is idle")
        }
    }
}

/// `presence-sync outbox enable`: re-enables an endpoint that answered 410 Gone.
struct OutboxEnableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable",
        abstract: "Re-enable a webhook endpoint that a 410 Gone disabled; delivery resumes from its cursor.",
        discussion: "Example: presence-sync outbox enable --endpoint main --config /etc/presence-sync/config.json"
    )

    @Option(name: .long, help: "The daemon's configuration (names the database).") var config: String
    @Option(name: .long, help: "The endpoint's name (events.webhooks[].name).") var endpoint: String

    func run() async throws {
        try await reportingFailures {
            let configuration = loadConfigurationOrExit(config)
            guard configuration.events.webhooks.contains(where: { $0.name == endpoint }) else {
                printError("outbox enable: no webhook endpoint named '\(endpoint)' in \(config)")
                throw ExitCode(64)
            }
            if let reason = try OutboxMaintenance.enableEndpoint(path: configuration.databasePath, endpoint: endpoint) {
                print("re-enabled \(endpoint) (it was disabled: \(reason)); a running daemon resumes within seconds")
            } else {
                print("\(endpoint) was not disabled; nothing changed")
            }
        }
    }
}
