import Foundation
import PresenceSync

/// The webhook delivery benchmark behind `presence-sync benchmark-delivery`: throughput and backlog drain,
/// measured from the outside.
///
/// For each mode it writes an undelivered backlog into a fresh database (an outage), starts the simulator and the
/// daemon as separate processes with one webhook endpoint pointing at a receiver in this process, and measures
/// until the endpoint's cursor passes the backlog: events per second, the daemon's peak RSS and CPU, and the poll
/// cycle times while draining compared with after. The `postgresql` mode drains the same backlog into a PostgreSQL
/// mirror (the operator's server) instead of a webhook endpoint.
public struct DeliveryBenchmark: Sendable {
    /// Backlog for the single (structured) mode: one event per request.
    public var singleEvents = 20_000
    /// Backlog for the batch mode (the outage to drain).
    public var backlog = 1_000_000
    /// Users the daemon polls while it drains.
    public var pollUsers = 10_000
    /// Seconds between poll cycles.
    public var interval = 5.0
    /// Seconds a mode may take before the benchmark fails.
    public var timeout = 900.0
    /// Modes to run, in order.
    public var modes: [WebhookEndpoint.Mode] = [.structured, .batch]
    /// The server of the PostgreSQL phase (the backlog mirrored instead of delivered), run after the webhook
    /// modes; nil: none.
    public var postgres: DeliveryBenchmarkPostgres?
    /// Users of the snapshot phase (`startFrom: "snapshot"`, batch mode), run after the modes; nil: none.
    public var snapshotUsers: Int?
    /// Also write the results to this JSON file.
    public var json: String?
    /// Keep each mode's files in `keep/<mode>` instead of a temporary directory.
    public var keep: String?

    public init() {}

    /// What is wrong with the options (for the command line's usage error), nil when nothing is.
    public var problem: String? {
        if singleEvents < 1 || backlog < 1 { return "backlogs must be at least 1 event" }
        if pollUsers < 1 { return "--poll-users must be at least 1" }
        if interval < 0.5 { return "--interval must be at least 0.5 seconds" }
        if modes.isEmpty && snapshotUsers == nil && postgres == nil {
            return "--modes takes 'single', 'batch', 'postgresql', 'snapshot' or several, comma-separated"
        }
        if let snapshotUsers, snapshotUsers < 1 { return "--snapshot-users must be at least 1" }
        return nil
    }

    /// Runs every mode and returns the markdown report; progress goes to standard error.
    public func run() async throws(BenchmarkError) -> String {
        BenchmarkCleanup.installInterruptHandlers()
        var results: [DeliveryBenchmarkResult] = []
        let phases =
            modes.map { ($0, false, false) } + (postgres == nil ? [] : [(WebhookEndpoint.Mode.batch, false, true)])
            + (snapshotUsers == nil ? [] : [(WebhookEndpoint.Mode.batch, true, false)])
        for (mode, snapshot, mirror) in phases {
            let name = mirror ? "postgresql" : snapshot ? "snapshot" : mode == .structured ? "single" : "batch"
            let directory = try BenchmarkCleanup.workDirectory(
                keep: keep, name: name, temporaryPrefix: "presence-sync-delivery")
            let users = snapshot ? snapshotUsers ?? pollUsers : pollUsers
            let phase = DeliveryBenchmarkPhase(
                mode: mode, snapshot: snapshot, postgres: mirror ? postgres : nil,
                events: snapshot ? users : mode == .structured ? singleEvents : backlog, pollUsers: users,
                interval: interval, timeout: timeout, directory: directory, executable: "/proc/self/exe")
            do {
                var result = try await phase.run(progress: { Self.progress($0) })
                result.mode = name
                results.append(result)
                Self.progress(
                    "\(name): \(BenchmarkReport.number(result.eventsPerSecond, 0)) events/s, peak RSS "
                        + "\(BenchmarkReport.number(result.peakResidentMiB, 1)) MiB (RssAnon "
                        + "\(BenchmarkReport.number(result.peakPrivateMiB, 1)), RssFile "
                        + "\(BenchmarkReport.number(result.peakFileMiB, 1)))")
            } catch {
                if mirror { try? postgres?.dropSchema() }
                throw BenchmarkError("benchmark-delivery failed (\(name)): \(error)")
            }
            if keep == nil {
                try? FileManager.default.removeItem(at: directory)
                BenchmarkCleanup.forget(directory: directory.path)
            }
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            do {
                try encoder.encode(results).write(to: URL(fileURLWithPath: json))
            } catch {
                throw BenchmarkError("benchmark-delivery: cannot write \(json): \(error)")
            }
        }
        return Self.markdown(results)
    }

    static func markdown(_ results: [DeliveryBenchmarkResult]) -> String {
        func median(_ values: [Double]) -> String {
            guard !values.isEmpty else { return "–" }
            let sorted = values.sorted()
            return BenchmarkReport.number(sorted[sorted.count / 2], 0)
        }
        var text = """
            | mode | backlog | events/s | drain time | daemon CPU | peak RSS | peak RssAnon | peak RssFile | \
            requests | bad signatures | mirror rows | cycle ms while draining (median) | cycle ms after | \
            max cycle lateness | overruns |
            |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|

            """
        for result in results {
            text += """
                | \(result.mode) | \(result.backlog) | \(BenchmarkReport.number(result.eventsPerSecond, 0)) | \
                \(BenchmarkReport.number(result.firstEventToDrainedSeconds, 1)) s | \
                \(BenchmarkReport.number(result.daemonCPUSecondsToDrain, 1)) s | \
                \(BenchmarkReport.number(result.peakResidentMiB, 1)) MiB | \
                \(BenchmarkReport.number(result.peakPrivateMiB, 1)) MiB | \
                \(BenchmarkReport.number(result.peakFileMiB, 1)) MiB | \(result.requests) | \
                \(result.badSignatures) | \(result.mirrorRows.map { "\($0)" } ?? "–") | \
                \(median(result.cycleMillisecondsWhileDraining)) \
                (\(result.cycleMillisecondsWhileDraining.count) cycles) | \(median(result.cycleMillisecondsAfter)) | \
                \(BenchmarkReport.number(result.maxCycleLatenessSeconds, 1)) s | \(result.overruns) |

                """
        }
        text += """

            Targets: single ≥ 2,000 events/s, batch ≥ 50,000 events/s, postgresql ≥ 20,000 events/s, peak RSS \
            < 64 MB while draining, polling unaffected (no overruns); snapshot of 100,000 users ≤ 10 s (its backlog column is the user count, its \
            drain time from the first snapshot event to the snapshot complete).

            """
        return text
    }

    private static func progress(_ message: String) {
        FileHandle.standardError.write(Data("benchmark-delivery: \(message)\n".utf8))
    }
}
