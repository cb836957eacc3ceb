import ArgumentParser
import Foundation
import PresenceSync

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

    @Option(help: "Modes to run, comma-separated: single, batch.")
    var modes = "single,batch"

    @Option(help: "Also write the results to this JSON file.")
    var json: String?

    @Option(help: "Keep each mode's files in DIR/<mode> instead of a temporary directory.")
    var keep: String?

    func validate() throws {
        guard singleEvents >= 1, backlog >= 1 else { throw ValidationError("backlogs must be at least 1 event") }
        guard pollUsers >= 1 else { throw ValidationError("--poll-users must be at least 1") }
        guard interval >= 0.5 else { throw ValidationError("--interval must be at least 0.5 seconds") }
        guard !selectedModes.isEmpty, selectedModes.count == modes.split(separator: ",").count else {
            throw ValidationError("--modes takes 'single', 'batch' or both, comma-separated")
        }
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

    func run() async throws {
        BenchmarkCleanup.installInterruptHandlers()
        var results: [DeliveryBenchmarkResult] = []
        for mode in selectedModes {
            let name = mode == .structured ? "single" : "batch"
            let directory: URL
            if let keep {
                directory = URL(fileURLWithPath: keep).appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: directory.path) {
                    throw ValidationError("\(directory.path) already exists; remove it or choose another --keep")
                }
            } else {
                directory = FileManager.default.temporaryDirectory
                    .appendingPathComponent("presence-sync-delivery-\(getpid())-\(name)")
                BenchmarkCleanup.register(directory: directory.path)
            }
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let phase = DeliveryBenchmarkPhase(
                mode: mode, events: mode == .structured ? singleEvents : backlog, pollUsers: pollUsers,
                interval: interval, timeout: timeout, directory: directory, executable: "/proc/self/exe")
            do {
                var result = try await phase.run(progress: { Self.progress($0) })
                result.mode = name
                results.append(result)
                Self.progress(
                    "\(name): \(BenchmarkReport.number(result.eventsPerSecond, 0)) events/s, peak RSS "
                        + "\(BenchmarkReport.number(result.peakResidentMiB, 1)) MiB")
            } catch {
                printError("benchmark-delivery failed (\(name)): \(error)")
                throw ExitCode(1)
            }
            if keep == nil {
                try? FileManager.default.removeItem(at: directory)
                BenchmarkCleanup.forget(directory: directory.path)
            }
        }
        print(Self.markdown(results), terminator: "")
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(results).write(to: URL(fileURLWithPath: json))
        }
    }

    static func markdown(_ results: [DeliveryBenchmarkResult]) -> String {
        func median(_ values: [Double]) -> String {
            guard !values.isEmpty else { return "–" }
            let sorted = values.sorted()
            return BenchmarkReport.number(sorted[sorted.count / 2], 0)
        }
        var text = """
            | mode | backlog | events/s | drain time | daemon CPU | peak RSS | requests | bad signatures | \
            cycle ms while draining (median) | cycle ms after | overruns |
            |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|

            """
        for result in results {
            text += """
                | \(result.mode) | \(result.backlog) | \(BenchmarkReport.number(result.eventsPerSecond, 0)) | \
                \(BenchmarkReport.number(result.firstEventToDrainedSeconds, 1)) s | \
                \(BenchmarkReport.number(result.daemonCPUSecondsToDrain, 1)) s | \
                \(BenchmarkReport.number(result.peakResidentMiB, 1)) MiB | \(result.requests) | \
                \(result.badSignatures) | \(median(result.cycleMillisecondsWhileDraining)) \
                (\(result.cycleMillisecondsWhileDraining.count) cycles) | \(median(result.cycleMillisecondsAfter)) | \
                \(result.overruns) |

                """
        }
        text += """

            Targets: single ≥ 2,000 events/s, batch ≥ 50,000 events/s, peak RSS < 64 MB while draining, polling \
            unaffected (no overruns).

            """
        return text
    }

    private static func progress(_ message: String) {
        FileHandle.standardError.write(Data("benchmark-delivery: \(message)\n".utf8))
    }
}
