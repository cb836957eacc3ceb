import ArgumentParser

/// The `presence-sync` command: subcommands only parse arguments and call into the libraries.
@main
struct PresenceSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presence-sync",
        abstract: "Keep a durable, queryable history of Microsoft Teams presence for a Microsoft 365 tenant.",
        discussion: """
            Try it without a Microsoft account:  presence-sync demo
            Run against a tenant:                 presence-sync run --config /etc/presence-sync/config.json
            """,
        subcommands: [
            RunCommand.self, DemoCommand.self, SimulateCommand.self, CheckConfigCommand.self, BenchmarkCommand.self,
            DeliveryBenchmarkCommand.self, LatencyBenchmarkCommand.self,
            PresenceCommand.self, CurrentCommand.self, HistoryCommand.self, SinceCommand.self, ReportCommand.self,
            PruneCommand.self, BackupCommand.self, StatusCommand.self, OutboxCommand.self, ReplayCommand.self,
        ]
    )
}
