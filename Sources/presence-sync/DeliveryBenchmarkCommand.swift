import ArgumentParser
import Foundation
import PresenceSync
import PresenceSyncBenchmarks

/// `presence-sync benchmark-delivery`: webhook delivery throughput and backlog drain, measured from the outside.
///
/// For each mode it writes an undelivered backlog into a fresh database (an outage), starts the simulator and the
/// daemon as separate processes with one webhook endpoint pointing at a receiver in this process, and measures
/// until the endpoint's cursor passes the backlog: events per second, the daemon's peak RSS and CPU, and the poll
/// cycle times while draining compared with after.
struct DeliveryBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark-delivery",
        abstract: "Measure webhook delivery: single and batch throughput, backlog drain, memory (Linux).",
        discussion: """
            Build with `make release` first. Example:
            presence-sync benchmark-delivery --single-events 20000 --backlog 1000000 --json delivery.json
            presence-sync benchmark-delivery --modes snapshot --snapshot-users 100000
            PRESENCE_SYNC_BENCH_PG_PASSWORD=... presence-sync benchmark-delivery --modes postgresql \\
                --postgresql-url postgresql://bench@127.0.0.1:5432/bench
            The postgresql mode mirrors the backlog into the given server (never started by the benchmark) in a \
            fresh schema bench_<random>, dropped at the end.
            """
    )

    @Option(help: "Backlog for the single (structured) mode: one event per request.")
    var singleEvents = 20_000

    @Option(help: "Backlog for the batch mode (the outage to drain).")
    var backlog = 1_000_000

    @Option(help: "Users the daemon polls while it drains.")
    var pollUsers = 10_000

    @Option(help: "Seconds between poll cycles.")
    var interval = 5.0

    @Option(help: "Seconds a mode may take before the benchmark fails.")
    var timeout = 900.0

    @Option(
        help: """
            Modes to run, comma-separated: single, batch, postgresql (the backlog mirrored into --postgresql-url), \
            snapshot (startFrom snapshot, batch mode).
            """)
    var modes = "single,batch"

    @Option(help: "Users of the snapshot mode (the simulator's tenant polled meanwhile has as many).")
    var snapshotUsers = 100_000

    @Option(
        help: """
            The server of the postgresql mode, a URL without password (postgresql://user@host:port/database); the \
            password comes from $\(DeliveryBenchmarkPostgres.passwordVariable).
            """)
    var postgresqlURL: String?

    @Option(help: "Changes per PostgreSQL transaction in the postgresql mode (default: the daemon's).")
    var postgresqlBatchEvents: Int?

    @Option(help: "Also write the results to this JSON file.")
    var json: String?

    @Option(help: "Keep each mode's files in DIR/<mode> instead of a temporary directory.")
    var keep: String?

    func validate() throws {
        let named = modes.split(separator: ",").count
        guard named > 0, selectedModes.count + (includesSnapshot ? 1 : 0) + (includes("postgresql") ? 1 : 0) == named
        else {
            throw ValidationError(
                "--modes takes 'single', 'batch', 'postgresql', 'snapshot' or several, comma-separated")
        }
        if includes("postgresql") && postgresqlURL == nil {
            throw ValidationError(
                "--modes postgresql needs --postgresql-url postgresql://USER@HOST:PORT/DATABASE (a server you run; "
                    + "the password in $\(DeliveryBenchmarkPostgres.passwordVariable))")
        }
        if let problem = benchmark.problem { throw ValidationError(problem) }
    }

    private var selectedModes: [WebhookEndpoint.Mode] {
        modes.split(separator: ",").compactMap { name in
            switch name.trimmingCharacters(in: .whitespaces) {
            case "single": .structured
            case "batch": .batch
            default: nil
            }
        }
    }

    private var includesSnapshot: Bool { includes("snapshot") }

    private func includes(_ mode: String) -> Bool {
        modes.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == mode }
    }

    /// The options as the library's benchmark takes them.
    private var benchmark: DeliveryBenchmark {
        var benchmark = DeliveryBenchmark()
        benchmark.singleEvents = singleEvents
        benchmark.backlog = backlog
        benchmark.pollUsers = pollUsers
        benchmark.interval = interval
        benchmark.timeout = timeout
        benchmark.modes = selectedModes
        benchmark.snapshotUsers = includesSnapshot ? snapshotUsers : nil
        if includes("postgresql"), let postgresqlURL {
            benchmark.postgres = DeliveryBenchmarkPostgres(url: postgresqlURL, maxBatchEvents: postgresqlBatchEvents)
        }
        benchmark.json = json
        benchmark.keep = keep
        return benchmark
    }

    func run() async throws {
        try await printReport { () async throws(BenchmarkError) in try await benchmark.run() }
    }
}
