import Foundation

/// The polling benchmark behind `presence-sync benchmark`: the daemon against the simulated tenant, measured from
/// the outside.
///
/// For each tenant size it starts the running binary twice, as `simulate` and as `run`, in separate processes, and
/// measures the daemon through `/proc`: CPU per cycle and per user observation, CPU while idle, peak RSS, and
/// changes written per second. Events are read from the daemon's stdout as in production. A second daemon on the
/// same database (a restart) runs `restartCycles` more cycles.
public struct PollingBenchmark: Sendable {
    /// Tenant sizes to measure.
    public var users: [Int] = [10_000, 100_000]
    /// Poll cycles per size; cycle 1 is the initial load, the rest are the steady cycles measured.
    public var cycles = 6
    /// Cycles of a second daemon started on the same database afterwards (0: none).
    public var restartCycles = 2
    /// Chance that a user's presence changes between two polls (0...1).
    public var changeRate = 0.1
    /// Seconds between cycle starts; nil: `defaultInterval(users:)`.
    public var interval: Double?
    /// Seconds a cycle may run past its scheduled start before the benchmark fails.
    public var cycleTimeout = 120.0
    /// Also write the results, raw readings included, to this JSON file.
    public var json: String?
    /// Keep each size's config, database and logs in `keep/<users>-users` instead of a temporary directory.
    public var keep: String?

    public init() {}

    /// Interval that keeps cycles from overlapping at the targets: 0.3 s of CPU per 100,000 users leaves room.
    public static func defaultInterval(users: Int) -> Double { max(5, Double(users) / 10_000) }

    /// What is wrong with the options (for the command line's usage error), nil when nothing is.
    public var problem: String? {
        if cycles < 2 { return "--cycles must be at least 2 (cycle 1 is the initial load)" }
        if !(0...1).contains(changeRate) { return "--change-rate must be within 0...1" }
        if let interval, interval < 0.1 { return "--interval must be at least 0.1 seconds" }
        if restartCycles < 0 { return "--restart-cycles must not be negative" }
        if cycleTimeout <= 0 { return "--cycle-timeout must be positive" }
        return nil
    }

    /// Runs every size and returns the markdown report; progress goes to standard error.
    ///
    /// On a failure the sizes measured so far are printed before the error is thrown. Ctrl-C stops the children
    /// and removes the temporary directories (`BenchmarkCleanup`).
    public func run() async throws(BenchmarkError) -> String {
        BenchmarkCleanup.installInterruptHandlers()
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "?"
        var document = BenchmarkReport.Document(
            command: CommandLine.arguments, executable: executable,
            processors: ProcessInfo.processInfo.activeProcessorCount,
            clockTicksPerSecond: BenchmarkProcessSample.clockTicksPerSecond, targets: .init(), sizes: [])
        for count in users {
            let interval = self.interval ?? Self.defaultInterval(users: count)
            let directory = try BenchmarkCleanup.workDirectory(
                keep: keep, name: "\(count)-users", temporaryPrefix: "presence-sync-benchmark")
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
                throw BenchmarkError("benchmark failed: \(error)")
            }
            if keep == nil {
                try? FileManager.default.removeItem(at: directory)
                BenchmarkCleanup.forget(directory: directory.path)
            }
        }
        if let json {
            do {
                try BenchmarkReport.writeJSON(document, to: json)
            } catch {
                throw BenchmarkError("benchmark: cannot write \(json): \(error)")
            }
        }
        return BenchmarkReport.markdown(document)
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
