import ArgumentParser
import Foundation
import PresenceSyncBenchmarks

/// `presence-sync benchmark`: the project's own benchmark of the daemon against the simulated tenant.
///
/// For each tenant size it starts this same binary twice, as `simulate` and as `run`, in separate processes,
/// and measures the daemon from the outside through `/proc`: CPU per cycle and per user observation, CPU while
/// idle, peak RSS, and changes written per second. Events are read from the daemon's stdout as in production.
struct BenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark",
        abstract: "Measure the daemon's CPU, memory and write rate against the simulated tenant (Linux).",
        discussion: """
            Runs `presence-sync simulate` and `presence-sync run --max-cycles N` as child processes for each size,
            then a second daemon on the same database (a restart), and prints a markdown table. Build with
            `make release` first: debug numbers mean little.
            Example: presence-sync benchmark --users 10000,100000 --cycles 6 --json results.json
            """
    )

    @Option(help: "Tenant sizes to measure, comma-separated.")
    var users = BenchmarkSizes(counts: [10_000, 100_000])

    @Option(help: "Poll cycles per size; cycle 1 is the initial load, the rest are the steady cycles measured.")
    var cycles = 6

    @Option(help: "Cycles of a second daemon started on the same database afterwards, as after a restart (0: none).")
    var restartCycles = 2

    @Option(help: "Chance that a user's presence changes between two polls (0...1).")
    var changeRate = 0.1

    @Option(help: "Seconds between cycle starts (default: max(5, users / 10000), so cycles never overlap).")
    var interval: Double?

    @Option(help: "Seconds a cycle may run past its scheduled start before the benchmark fails.")
    var cycleTimeout = 120.0

    @Option(help: "Also write the results, raw readings included, to this JSON file.")
    var json: String?

    @Option(help: "Keep each size's config, database and logs in DIR/<users>-users instead of a temporary directory.")
    var keep: String?

    @Option(help: "History rows to grow in the database before the daemon starts, e.g. 20000000 (0: empty file).")
    var historyRows = 0

    func validate() throws {
        if let problem = benchmark.problem { throw ValidationError(problem) }
    }

    /// The options as the library's benchmark takes them.
    private var benchmark: PollingBenchmark {
        var benchmark = PollingBenchmark()
        benchmark.users = users.counts
        benchmark.cycles = cycles
        benchmark.restartCycles = restartCycles
        benchmark.changeRate = changeRate
        benchmark.interval = interval
        benchmark.cycleTimeout = cycleTimeout
        benchmark.json = json
        benchmark.keep = keep
        benchmark.historyRows = historyRows
        return benchmark
    }

    func run() async throws {
        try await printReport { () async throws(BenchmarkError) in try await benchmark.run() }
    }
}

/// Tenant sizes given as one comma-separated argument, e.g. `10000,100000`.
struct BenchmarkSizes: ExpressibleByArgument, Sendable {
    var counts: [Int]

    init(counts: [Int]) { self.counts = counts }

    init?(argument: String) {
        let counts = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0.map { (1...1_000_000).contains($0) } ?? false }) else {
            return nil
        }
        self.counts = counts.compactMap { $0 }
    }

    var defaultValueDescription: String { counts.map(String.init).joined(separator: ",") }
}

/// Prints a benchmark's report; on failure prints why and exits 1.
func printReport(_ benchmark: () async throws(BenchmarkError) -> String) async throws {
    do {
        print(try await benchmark(), terminator: "")
    } catch {
        printError("\(error)")
        throw ExitCode(1)
    }
}
