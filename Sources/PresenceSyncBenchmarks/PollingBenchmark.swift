import Foundation
import GraphSimulator
import PresenceSync

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
    /// History rows to grow in the database before the daemon starts (0: start from an empty file), so that the
    /// store is measured on a history of realistic size (`SyntheticHistory`).
    public var historyRows = 0

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
        if historyRows < 0 { return "--history-rows must not be negative" }
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
            let database = directory.appendingPathComponent("presence.db").path
            var grownRows = 0
            var growSeconds = 0.0
            if historyRows > 0 {
                progress("growing a history of \(historyRows) rows for \(count) users")
                let started = ContinuousClock.now
                do {
                    // The simulator's users (its default seed), so the daemon's first cycle continues their history.
                    let ids = (0..<count).map { GraphSimulator.userID(index: $0, seed: 42) }
                    // Ending a day and more ago: older than the window a new sink starts from, so the daemon's
                    // standard output carries the changes of the run, not the grown history.
                    let end = Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch - 26 * 3_600_000)
                    try SyntheticHistory.grow(path: database, userIDs: ids, rows: historyRows, end: end)
                } catch {
                    throw BenchmarkError("growing the history failed: \(error)")
                }
                growSeconds = (ContinuousClock.now - started) / .seconds(1)
                grownRows = (historyRows + count - 1) / count * count
            }
            // /proc/self/exe rather than its target: the very same binary even if a build replaces the file.
            let session = BenchmarkSession(
                executable: "/proc/self/exe", users: count, cycles: cycles, changeRate: changeRate,
                interval: interval, cycleTimeout: cycleTimeout, restartCycles: restartCycles, directory: directory)
            do {
                var result = try await session.run()
                result.store = Self.storeSize(database, grownRows: grownRows, growSeconds: growSeconds)
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

    /// History rows and file bytes of the database the run left.
    private static func storeSize(_ path: String, grownRows: Int, growSeconds: Double) -> BenchmarkSizeResult.StoreSize?
    {
        guard let rows = try? HistoryDatabase(path: path).historyRowCount() else { return nil }
        let bytes = [path, path + "-wal"].reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
        }
        return .init(grownRows: grownRows, growSeconds: growSeconds, historyRows: rows, fileBytes: bytes)
    }

    private func progress(_ message: String) {
        FileHandle.standardError.write(Data("benchmark: \(message)\n".utf8))
    }
}
