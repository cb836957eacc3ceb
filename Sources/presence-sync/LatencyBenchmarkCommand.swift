import ArgumentParser
import Foundation
import PresenceSync
import PresenceSyncBenchmarks

/// `presence-sync benchmark-latency`: detection latency of fixed and adaptive polling at the same request rate.
struct LatencyBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark-latency",
        abstract: "Measure how late the daemon sees presence change, fixed and adaptive polling side by side (Linux).",
        discussion: """
            Starts the simulated tenant with its working-day model in this process and the daemon as a child, and
            matches every real change of the tenant with the history row that recorded it. Build with
            `make release` first. Example:
            presence-sync benchmark-latency --users 10000,100000 --seconds 180 --json latency.json
            """
    )

    @Option(help: "Tenant sizes to measure, comma-separated.")
    var users = BenchmarkSizes(counts: [10_000, 100_000])

    @Option(help: "Polling modes to compare, comma-separated: fixed, adaptive.")
    var modes = "fixed,adaptive"

    @Option(help: "Seconds measured per size and mode, after the first sweep.")
    var seconds = 180.0

    @Option(help: "Seconds before the window (default: the first sweep and 5 s); adaptive polling learns meanwhile.")
    var warmupSeconds: Double?

    @Option(help: "Simulated time of day when the simulator starts, HH:MM.")
    var startTime = "09:30"

    @Option(help: "Seconds the daemon runs on after the window (default: the staleness bound).")
    var tailSeconds: Double?

    @Option(help: "Share of Graph's request budget both modes use (polling.budgetShare).")
    var budgetShare = 0.5

    @Option(help: "polling.maxStalenessSeconds for adaptive polling.")
    var maxStaleness = 60.0

    @Option(help: "Simulated seconds per real second of the working-day model.")
    var timeCompression = 20.0

    @Option(help: "Also write the results to this JSON file.")
    var json: String?

    @Option(help: "Keep each run's config, database and log in DIR/<users>-users-<mode>.")
    var keep: String?

    func validate() throws {
        if modeList == nil { throw ValidationError("--modes must list fixed, adaptive or both") }
        if let problem = benchmark.problem { throw ValidationError(problem) }
    }

    private var modeList: [PollingMode]? {
        let parsed = modes.split(separator: ",").map { PollingMode(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else { return nil }
        return parsed.compactMap { $0 }
    }

    private var benchmark: LatencyBenchmark {
        var benchmark = LatencyBenchmark()
        benchmark.users = users.counts
        benchmark.modes = modeList ?? []
        benchmark.seconds = seconds
        benchmark.tailSeconds = tailSeconds
        benchmark.budgetShare = budgetShare
        benchmark.maxStalenessSeconds = maxStaleness
        benchmark.timeCompression = timeCompression
        benchmark.warmupSeconds = warmupSeconds
        benchmark.startTimeOfDay = TimeText.secondsAfterMidnight(startTime) ?? -1
        benchmark.json = json
        benchmark.keep = keep
        return benchmark
    }

    func run() async throws {
        try await printReport { () async throws(BenchmarkError) in try await benchmark.run() }
    }
}
