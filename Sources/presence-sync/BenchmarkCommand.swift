import ArgumentParser
import Foundation

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

    func validate() throws {
        guard cycles >= 2 else { throw ValidationError("--cycles must be at least 2 (cycle 1 is the initial load)") }
        guard (0...1).contains(changeRate) else { throw ValidationError("--change-rate must be within 0...1") }
        if let interval, interval < 0.1 { throw ValidationError("--interval must be at least 0.1 seconds") }
        guard restartCycles >= 0 else { throw ValidationError("--restart-cycles must not be negative") }
        guard cycleTimeout > 0 else { throw ValidationError("--cycle-timeout must be positive") }
    }

    /// Interval that keeps cycles from overlapping at the targets: 0.3 s of CPU per 100,000 users leaves room.
    static func defaultInterval(users: Int) -> Double { max(5, Double(users) / 10_000) }

    func run() async throws {
        BenchmarkCleanup.installInterruptHandlers()
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "?"
        var document = BenchmarkReport.Document(
            command: CommandLine.arguments, executable: executable,
            processors: ProcessInfo.processInfo.activeProcessorCount,
            clockTicksPerSecond: BenchmarkProcessSample.clockTicksPerSecond, targets: .init(), sizes: [])
        for count in users.counts {
            let interval = self.interval ?? Self.defaultInterval(users: count)
            let directory = try workDirectory(users: count)
            progress(
                """
                \(count) users, \(cycles) cycles every \(BenchmarkReport.number(interval, 1)) s, change rate \
                \(changeRate); files in \(directory.path)
                """)
            // /proc/self/exe rather than its target: the very same binary even if a build replaces the file.
            let session = BenchmarkSession(
                executable: "/proc/self/exe", users: count, cycles: cycles, changeRate: changeRate,
                interval: interval, cycleTimeout: cycleTimeout, restartCycles: restartCycles, directory: directory)
            do {
                let result = try await session.run()
                document.sizes.append(result)
                progress(summary(result))
            } catch {
                BenchmarkCleanup.forget(directory: directory.path)
                if !document.sizes.isEmpty { print(BenchmarkReport.markdown(document)) }
                printError("benchmark failed: \(error)")
                throw ExitCode(1)
            }
            if keep == nil {
                try? FileManager.default.removeItem(at: directory)
                BenchmarkCleanup.forget(directory: directory.path)
            }
        }
        print(BenchmarkReport.markdown(document), terminator: "")
        if let json {
            do {
                try BenchmarkReport.writeJSON(document, to: json)
            } catch {
                printError("benchmark: cannot write \(json): \(error)")
                throw ExitCode(1)
            }
        }
    }

    /// A fresh directory for one size: under `--keep`, or a temporary one removed afterwards (and on Ctrl-C).
    private func workDirectory(users count: Int) throws -> URL {
        let directory: URL
        if let keep {
            directory = URL(fileURLWithPath: keep).appendingPathComponent("\(count)-users")
            if FileManager.default.fileExists(atPath: directory.path) {
                // An old database would turn cycle 1 into a steady cycle and skew every number.
                throw ValidationError("\(directory.path) already exists; remove it or choose another --keep")
            }
        } else {
            directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("presence-sync-benchmark-\(getpid())-\(count)")
            BenchmarkCleanup.register(directory: directory.path)
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    private func summary(_ result: BenchmarkSizeResult) -> String {
        let perObservation = result.steady.microsecondsPerObservation.map { BenchmarkReport.number($0.median, 2) }
        let peak = result.peakResidentMiB.map { BenchmarkReport.number($0, 1) }
        return """
            \(result.users) users done: \(perObservation ?? "?") µs CPU per observation, peak RSS \(peak ?? "?") MiB\
            \(result.targetsMet ? "" : " (target missed: \(result.targetMisses.joined(separator: "; ")))")
            """
    }

    private func progress(_ message: String) {
        FileHandle.standardError.write(Data("benchmark: \(message)\n".utf8))
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
