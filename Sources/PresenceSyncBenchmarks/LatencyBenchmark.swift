import Foundation
import GraphSimulator
import Logging
import PresenceSync

/// The latency benchmark behind `presence-sync benchmark-latency`: how late the daemon sees presence change.
///
/// For each tenant size and polling mode it starts the simulated tenant in this process with its working-day model
/// (`WorkdaySimulation`: users whose presence changes in compressed wall-clock time, heterogeneous, recording when
/// each change really happened) and the daemon as a child process, lets the first sweep pass, and measures for
/// `seconds`: every change the simulator made in that window is matched with the history row that recorded it (the
/// latest real change at or before the row's `valid_from`, with the same state). Detection latency is
/// `valid_from` minus the change's time; a change the daemon never recorded (the user changed again before it was
/// observed) counts as not observed. The daemon then runs `tailSeconds` more, so that changes late in the window
/// have the same chance as the others. Fixed and adaptive polling run at the same request rate: `budgetShare` of
/// Graph's 1,500 requests per 30 s, fixed cycles every `ceil(users / 650)` requests at that rate.
public struct LatencyBenchmark: Sendable {
    public var users: [Int] = [10_000, 100_000]
    public var modes: [PollingMode] = [.fixed, .adaptive]
    /// Seconds measured, after the first sweep.
    public var seconds = 180.0
    /// Seconds between the daemon's start and the window; nil: one sweep's worth and 5 s (the initial load).
    /// Longer lets adaptive polling learn the users' rates first, as it has in a daemon running for hours.
    public var warmupSeconds: Double?
    /// Seconds the daemon keeps running after the window; nil: `maxStalenessSeconds`.
    public var tailSeconds: Double?
    public var budgetShare = 0.5
    public var maxStalenessSeconds = 60.0
    /// Simulated seconds per real second of the working-day model.
    public var timeCompression = 20.0
    /// Simulated time of day when the simulator starts, seconds after midnight.
    public var startTimeOfDay = 9.5 * 3600
    public var json: String?
    public var keep: String?

    public init() {}

    /// What is wrong with the options (for the command line's usage error), nil when nothing is.
    public var problem: String? {
        if users.isEmpty || users.contains(where: { $0 < 1 }) { return "--users must list positive sizes" }
        if modes.isEmpty { return "--modes must name fixed, adaptive or both" }
        if seconds < 5 { return "--seconds must be at least 5" }
        if let warmupSeconds, warmupSeconds < 1 { return "--warmup-seconds must be at least 1" }
        if !(0..<86_400).contains(startTimeOfDay) { return "--start-time must be within 00:00...23:59" }
        if let tailSeconds, tailSeconds < 0 { return "--tail-seconds must not be negative" }
        if !(0.01...1).contains(budgetShare) { return "--budget-share must be within 0.01...1" }
        if maxStalenessSeconds < 1 { return "--max-staleness must be at least 1 second" }
        if timeCompression <= 0 { return "--time-compression must be positive" }
        return nil
    }

    /// Requests per second both modes use: `budgetShare` of 1,500 per 30 s.
    var requestsPerSecond: Double { 1500 * budgetShare / 30 }

    /// Runs every size and mode; returns the markdown report, progress on standard error.
    public func run() async throws(BenchmarkError) -> String {
        BenchmarkCleanup.installInterruptHandlers()
        var results: [LatencyResult] = []
        for count in users {
            for mode in modes {
                let directory = try BenchmarkCleanup.workDirectory(
                    keep: keep, name: "\(count)-users-\(mode.rawValue)", temporaryPrefix: "presence-sync-latency")
                progress("\(count) users, \(mode.rawValue) polling; files in \(directory.path)")
                do {
                    let result = try await measure(users: count, mode: mode, directory: directory)
                    results.append(result)
                    progress(
                        "\(count) users, \(mode.rawValue): p50 \(BenchmarkReport.number(result.p50, 2)) s, "
                            + "p99 \(BenchmarkReport.number(result.p99, 2)) s, observed "
                            + "\(BenchmarkReport.number(result.observedShare * 100, 1)) %")
                } catch {
                    BenchmarkCleanup.forget(directory: directory.path)
                    if !results.isEmpty { print(Self.markdown(results, command: CommandLine.arguments)) }
                    throw BenchmarkError("latency benchmark failed (\(count) users, \(mode.rawValue)): \(error)")
                }
                if keep == nil {
                    try? FileManager.default.removeItem(at: directory)
                    BenchmarkCleanup.forget(directory: directory.path)
                }
            }
        }
        if let json {
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(results).write(to: URL(fileURLWithPath: json))
            } catch {
                throw BenchmarkError("benchmark: cannot write \(json): \(error)")
            }
        }
        return Self.markdown(results, command: CommandLine.arguments)
    }

    /// One size in one mode.
    private func measure(users: Int, mode: PollingMode, directory: URL) async throws -> LatencyResult {
        var settings = SimulatorConfiguration()
        settings.userCount = users
        settings.workday = WorkdaySimulation(timeCompression: timeCompression, startTimeOfDay: startTimeOfDay)
        var logger = Logger(label: "benchmark-simulator")
        logger.logLevel = .warning
        let simulator = GraphSimulator(configuration: settings, logger: logger)
        _ = try await simulator.start()
        var daemon: BenchmarkChild?
        do {
            let config = try writeConfiguration(simulator: simulator, settings: settings, mode: mode, in: directory)
            daemon = try BenchmarkChild(
                name: "daemon", executable: "/proc/self/exe", arguments: ["run", "--config", config],
                errorLog: directory.appendingPathComponent("daemon.log"), onExit: { _ in })
            let child = daemon!
            let pid = daemon!.pid
            let memory = MemorySampler(pid: pid)
            defer { memory.stop() }
            // The first sweep observes everyone once (the initial load); the window starts after it.
            let sweepSeconds = ceil(Double(users) / 650) / requestsPerSecond
            try await wait(seconds: max(warmupSeconds ?? 0, sweepSeconds + 5), child)
            guard let start = BenchmarkProcessSample.current(pid: pid) else {
                throw BenchmarkError("the daemon's /proc entry is gone")
            }
            let windowStart = Timestamp.now().millisecondsSinceEpoch
            let requestsBefore = simulator.presenceRequests.count
            // The staleness counted from here: the first sweep (start-up, sign-in) is not the steady state.
            simulator.resetUnservedGaps()
            try await wait(seconds: seconds, child)
            guard let end = BenchmarkProcessSample.current(pid: pid) else {
                throw BenchmarkError("the daemon's /proc entry is gone")
            }
            let windowEnd = Timestamp.now().millisecondsSinceEpoch
            let requests = simulator.presenceRequests.count - requestsBefore
            try await wait(seconds: tailSeconds ?? maxStalenessSeconds, child)
            await daemon!.stop(grace: .seconds(30))
            memory.stop()
            let changes = simulator.realChanges(upToMilliseconds: Timestamp.now().millisecondsSinceEpoch)
            let gap = simulator.longestUnservedGap()
            await simulator.stop()
            let windowSeconds = Double(windowEnd - windowStart) / 1000
            var result = try LatencyMatch.measure(
                changes: changes, database: directory.appendingPathComponent("presence.db").path,
                window: windowStart...windowEnd)
            result.users = users
            result.mode = mode.rawValue
            result.seconds = windowSeconds
            result.requestsPerSecond = Double(requests) / windowSeconds
            result.daemonCPUPercent = (end.cpuSeconds - start.cpuSeconds) / windowSeconds * 100
            result.longestUnobservedSeconds = gap?.seconds
            result.peakPrivateMiB = memory.peak.privateMiB
            result.filePagesMiB = memory.peak.fileMiB
            return result
        } catch {
            await BenchmarkCleanup.parkIfInterrupted()
            await daemon?.stop(grace: .seconds(5))
            await simulator.stop()
            throw error
        }
    }

    /// Sleeps `seconds`, failing at once if the daemon exits meanwhile.
    private func wait(seconds: Double, _ daemon: BenchmarkChild) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if let exit = daemon.ended { throw BenchmarkError("the daemon \(exit) early; see daemon.log") }
            try await Task.sleep(for: min(.milliseconds(250), deadline - .now))
        }
    }

    /// The daemon's configuration: every simulated user, the mode at the common request rate, events on stdout.
    private func writeConfiguration(
        simulator: GraphSimulator, settings: SimulatorConfiguration, mode: PollingMode, in directory: URL
    ) throws -> String {
        let secret = directory.appendingPathComponent("client.secret").path
        _ = FileManager.default.createFile(
            atPath: secret, contents: Data(settings.clientSecret.utf8), attributes: [.posixPermissions: 0o600])
        let usersFile = directory.appendingPathComponent("users.txt").path
        try simulator.userIDs.joined(separator: "\n").write(toFile: usersFile, atomically: true, encoding: .utf8)
        let requestsPerSweep = ceil(Double(settings.userCount) / 650)
        let document: [String: Any] = [
            "tenantId": settings.tenantID, "clientId": settings.clientID, "credential": ["file": secret],
            "authorityHost": simulator.baseURL, "graphBaseURL": simulator.baseURL, "usersFile": usersFile,
            "database": directory.appendingPathComponent("presence.db").path, "logLevel": "warning",
            "polling": [
                "mode": mode.rawValue, "budgetShare": budgetShare, "maxStalenessSeconds": maxStalenessSeconds,
                "intervalSeconds": requestsPerSweep / requestsPerSecond,
            ],
        ]
        let path = directory.appendingPathComponent("config.json").path
        try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: path))
        return path
    }

    private func progress(_ message: String) {
        FileHandle.standardError.write(Data("benchmark: \(message)\n".utf8))
    }

    /// The results as a markdown table, one row per size and mode.
    static func markdown(_ results: [LatencyResult], command: [String]) -> String {
        func seconds(_ value: Double) -> String { BenchmarkReport.number(value, 2) }
        var text = """
            Detection latency: from each real change of the simulated tenant to the history row that recorded it.

            | users | mode | p50 s | p90 s | p99 s | max s | changes | observed | requests/s | daemon CPU | longest \
            unobserved s | peak private MiB |
            |---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|

            """
        for result in results {
            text += """
                | \(result.users) | \(result.mode) | \(seconds(result.p50)) | \(seconds(result.p90)) | \
                \(seconds(result.p99)) | \(seconds(result.max)) | \(result.changes) | \
                \(BenchmarkReport.number(result.observedShare * 100, 1)) % | \
                \(BenchmarkReport.number(result.requestsPerSecond, 1)) | \
                \(BenchmarkReport.number(result.daemonCPUPercent, 1)) % | \
                \(result.longestUnobservedSeconds.map { seconds($0) } ?? "?") | \
                \(result.peakPrivateMiB.map { BenchmarkReport.number($0, 1) } ?? "?") |

                """
        }
        text += "\nCommand: `\(command.joined(separator: " "))`\n"
        return text
    }
}

/// What one size in one mode measured.
struct LatencyResult: Codable, Sendable {
    var users = 0
    var mode = ""
    var seconds = 0.0
    /// Real changes in the window, and those the daemon recorded. A row is matched with the latest real change at
    /// or before its `valid_from` that has its state (the user can change again between the serve and the commit).
    var changes = 0
    var observed = 0
    var p50 = 0.0
    var p90 = 0.0
    var p99 = 0.0
    var max = 0.0
    /// History rows whose state matched no real change at or before them (should be 0).
    var unmatchedRows = 0
    var requestsPerSecond = 0.0
    /// The daemon's CPU over the window, in percent of one core.
    var daemonCPUPercent = 0.0
    /// The longest time any user went without being served, from the window's start to the daemon's stop
    /// (simulator's record).
    var longestUnobservedSeconds: Double?
    var peakPrivateMiB: Double?
    var filePagesMiB: Double?

    var observedShare: Double { changes == 0 ? 0 : Double(observed) / Double(changes) }
}

/// Matches a simulator's real changes with a database's history rows.
enum LatencyMatch {
    /// Detection latencies of the changes inside `window` (Unix milliseconds), with the shares observed.
    static func measure(
        changes: [RealPresenceChange], database: String, window: ClosedRange<Int64>
    ) throws -> LatencyResult {
        var byUser: [String: [(at: Int64, state: PresenceState)]] = [:]
        for change in changes {
            byUser[change.userID, default: []].append((change.atMilliseconds, state(change.presence)))
        }
        var result = LatencyResult()
        result.changes = changes.count { window.contains($0.atMilliseconds) }
        var latencies: [Double] = []
        var currentUser = ""
        var detected = Set<Int>()
        var firstRow = true
        try HistoryDatabase(path: database).forEachHistoryRow { row in
            if row.userID != currentUser {
                currentUser = row.userID
                detected.removeAll(keepingCapacity: true)
                firstRow = true
            }
            // The first row of a user is its initial load, not a detected change.
            defer { firstRow = false }
            guard !firstRow, let timeline = byUser[row.userID] else { return }
            let seen = row.validFrom.millisecondsSinceEpoch
            // The latest real change at or before the row.
            var low = 0
            var high = timeline.count
            while low < high {
                let middle = (low + high) / 2
                if timeline[middle].at <= seen { low = middle + 1 } else { high = middle }
            }
            // The user may have changed again between the serve and the row's commit (a few milliseconds, more under
            // load): look back, up to five seconds, for the change whose state the row recorded.
            var candidate = low - 1
            while candidate >= 0 && timeline[candidate].state != row.state
                && seen - timeline[candidate].at <= 5_000
            {
                candidate -= 1
            }
            guard candidate >= 0, timeline[candidate].state == row.state else {
                result.unmatchedRows += 1
                return
            }
            let change = candidate
            guard detected.insert(change).inserted, window.contains(timeline[change].at) else { return }
            latencies.append(Double(seen - timeline[change].at) / 1000)
        }
        result.observed = latencies.count
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty
                ? 0 : latencies[min(latencies.count - 1, Int((Double(latencies.count) * p).rounded(.down)))]
        }
        result.p50 = percentile(0.5)
        result.p90 = percentile(0.9)
        result.p99 = percentile(0.99)
        result.max = latencies.last ?? 0
        return result
    }

    static func state(_ presence: SimulatedPresence) -> PresenceState {
        PresenceState(
            availability: presence.availability, activity: presence.activity, statusMessage: presence.statusMessage,
            isOutOfOffice: presence.isOutOfOffice, outOfOfficeMessage: presence.outOfOfficeMessage,
            workLocationType: presence.workLocationType)
    }
}
