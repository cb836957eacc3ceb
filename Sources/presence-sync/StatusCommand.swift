import ArgumentParser
import Foundation
import PresenceSync

/// `presence-sync status --db FILE [--json]`: the daemon's health as its database shows it (read-only).
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Summarise the daemon's database: users tracked, last cycle, changes in the last hour, backlog.",
        discussion: """
            Example: presence-sync status --db /var/lib/presence-sync/presence.db
                     presence-sync status --db /var/lib/presence-sync/presence.db --json | jq .lastCycle
            """
    )

    @Option(name: .long, help: "The SQLite file the daemon writes.")
    var db: String

    @Flag(name: .long, help: "One JSON object instead of text (for scripts).")
    var json = false

    func run() throws {
        let status: ServiceStatus
        do {
            status = try ServiceStatus.read(path: db)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(status), as: UTF8.self))
        } else {
            print(Self.text(status), terminator: "")
        }
    }

    static func text(_ status: ServiceStatus) -> String {
        var text = "database:        \(status.database)\nusers tracked:   \(status.usersTracked)\n"
        if let cycle = status.lastCycle {
            text += """
                last cycle:      \(cycle.startedAt) to \(cycle.finishedAt): \(cycle.observed) of \(cycle.users) users \
                observed, \(cycle.changes) changes, \(cycle.missing) missing, \(cycle.failedBatches) failed batches

                """
            if let requests = cycle.requests {
                var line = "requests:        \(requests)"
                if let rate = cycle.requestsPerSecond { line += String(format: ", %.1f per second", rate) }
                if let use = cycle.budgetUse { line += String(format: ", %.0f %% of the request budget", use * 100) }
                if let stalest = cycle.stalestSeconds {
                    line += String(format: "; stalest user last observed %.1f s before the sweep ended", stalest)
                }
                text += line + "\n"
            }
        } else {
            text += "last cycle:      none yet\n"
        }
        text += "last hour:       \(status.cyclesLastHour) cycles, \(status.changesLastHour) changes\n"
        for backlog in status.backlog ?? [] {
            let oldest = backlog.oldestPendingSince.map { ", oldest from \($0)" } ?? ""
            text += "backlog:         \(backlog.sink): \(backlog.pending) events pending\(oldest)\n"
        }
        for letters in status.deadLetters ?? [] {
            text += "dead letters:    \(letters.endpoint): \(letters.count)\n"
        }
        return text
    }
}
