import Foundation

/// Renders benchmark results: a markdown table for people, a JSON document for machines.
enum BenchmarkReport {
    /// The whole run as written to `--json`.
    struct Document: Sendable, Codable {
        /// The benchmark's own command line, exactly as given.
        var command: [String]
        /// The binary that ran as simulator and daemon.
        var executable: String
        var processors: Int
        var clockTicksPerSecond: Double
        var targets: Targets
        var sizes: [BenchmarkSizeResult]
    }

    struct Targets: Sendable, Codable {
        var microsecondsPerObservation = BenchmarkTargets.microsecondsPerObservation
        var peakResidentMiB = BenchmarkTargets.peakResidentMiB
        var idleMillisecondsPerSecond = BenchmarkTargets.idleMillisecondsPerSecond
    }

    /// The markdown report: the table, then the command lines and anything odd worth a look.
    static func markdown(_ document: Document) -> String {
        var lines = [
            """
            | users | steady cycles | daemon CPU/cycle (median, min–max) | µs per user observation \
            | changes/cycle | changes written/s | cycle wall ms | first-cycle CPU (incl. start-up) \
            | idle CPU ms/s | peak RSS MiB (restart) | peak private MiB (RssAnon) | file pages MiB (RssFile) \
            | simulator CPU/cycle | target met? |
            """,
            "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for size in document.sizes { lines.append(row(size)) }
        lines.append("")
        lines.append("Command: `\(shellWords(document.command))`")
        lines.append("")
        lines.append("Simulator and daemon: `/proc/self/exe`, i.e. \(document.executable)")
        lines.append("")
        lines.append(
            """
            Targets: at most \(number(BenchmarkTargets.microsecondsPerObservation, 0)) µs of daemon CPU per user \
            observation (median of the steady cycles), at most \(number(BenchmarkTargets.peakResidentMiB, 0)) MiB \
            peak RSS (VmHWM), at most \(number(BenchmarkTargets.idleMillisecondsPerSecond, 0)) ms of CPU per second \
            while idle. \(document.processors) processors; CPU times are in clock ticks of \
            1/\(number(document.clockTicksPerSecond, 0)) s.
            """)
        for size in document.sizes {
            lines.append("")
            lines.append("\(size.users) users, every \(number(size.intervalSeconds, 1)) s:")
            lines.append("- simulator: `\(shellWords(size.simulatorCommand))`")
            lines.append("- daemon: `\(shellWords(size.daemonCommand))`")
            let resident = size.residentMiBAfterCycle.map { $0.map { number($0, 1) } ?? "?" }
            lines.append("- RSS after each cycle (MiB): \(resident.joined(separator: ", "))")
            lines.append("- event lines read from the daemon's stdout: \(size.eventLinesRead)")
            if let restart = size.restart {
                let cpu = restart.firstCycleDaemonCPUSeconds.map { number($0, 2) + " s" } ?? "?"
                let peak = restart.peakResidentMiB.map { number($0, 1) + " MiB" } ?? "?"
                lines.append(
                    "- restart on the same database (\(restart.cycles) cycles): first cycle CPU (incl. start-up) "
                        + "\(cpu), \(restart.firstCycleWallMilliseconds.map(String.init) ?? "?") ms wall; "
                        + "peak RSS \(peak); \(restart.changes) changes")
            }
            if let store = size.store {
                lines.append(
                    "- database: \(store.historyRows) history rows (\(store.grownRows) grown in advance in "
                        + "\(number(store.growSeconds, 0)) s), \(store.fileBytes) bytes of file: "
                        + "\(number(store.bytesPerHistoryRow, 1)) bytes per history row")
            }
            for note in size.notes { lines.append("- note: \(note)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the document as pretty-printed JSON with sorted keys.
    static func writeJSON(_ document: Document, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(document).write(to: URL(fileURLWithPath: path))
    }

    private static func row(_ size: BenchmarkSizeResult) -> String {
        let steady = size.steady
        let first = size.firstCycle
        var cells = ["\(size.users)", "\(steady.count)"]
        cells.append(spread(steady.daemonCPUSecondsPerCycle, decimals: 3, unit: " s"))
        cells.append(spread(steady.microsecondsPerObservation, decimals: 2))
        cells.append(median(steady.changesPerCycle, decimals: 0))
        cells.append(median(steady.changesWrittenPerSecond, decimals: 0))
        cells.append(median(steady.wallMillisecondsPerCycle, decimals: 0))
        cells.append(first?.daemonCPUSeconds.map { number($0, 2) + " s" } ?? "–")
        cells.append(size.idleCPUMillisecondsPerSecond.map { number($0, 2) } ?? "–")
        let restartPeak = size.restart?.peakResidentMiB.map { " (restart \(number($0, 1)))" } ?? ""
        cells.append((size.peakResidentMiB.map { number($0, 1) } ?? "–") + restartPeak)
        cells.append(size.peakPrivateMiB.map { number($0, 1) } ?? "–")
        cells.append(size.filePagesMiB.map { number($0, 1) } ?? "–")
        cells.append(median(steady.simulatorCPUSecondsPerCycle, decimals: 3, unit: " s"))
        cells.append(size.targetsMet ? "yes" : "no: " + size.targetMisses.joined(separator: "; "))
        return "| " + cells.joined(separator: " | ") + " |"
    }

    private static func median(_ spread: BenchmarkSpread?, decimals: Int, unit: String = "") -> String {
        spread.map { number($0.median, decimals) + unit } ?? "–"
    }

    private static func spread(_ spread: BenchmarkSpread?, decimals: Int, unit: String = "") -> String {
        guard let spread else { return "–" }
        let range = "\(number(spread.min, decimals))–\(number(spread.max, decimals))"
        return "\(number(spread.median, decimals))\(unit) (\(range))"
    }

    /// `value` with exactly `decimals` digits after the point.
    static func number(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    /// Joins a command line for display, quoting words a shell would split or interpret.
    static func shellWords(_ words: [String]) -> String {
        let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
        return words.map { word in
            if !word.isEmpty && word.allSatisfy(plain.contains) { return word }
            return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}
