import Foundation
import Logging
import PresenceSync
import Synchronization

/// One mode of the delivery benchmark: a database holding an undelivered backlog (an outage), then the daemon
/// started against the simulator with one webhook endpoint, measured from the outside until the backlog is
/// delivered and a few poll cycles more.
///
/// The backlog is written through `PresenceStore.record`, the daemon's own write path (history, current state
/// and outbox in one transaction per batch), for users other than the simulator's, so the daemon polls its
/// tenant as usual while it drains. Drained means the endpoint's cursor in the database (the daemon's own
/// durable statement that everything up to it was acknowledged) reached the last backlog event.
///
/// The snapshot phase (`snapshot`) instead writes one state per polled user and starts the daemon with an endpoint
/// in batch mode that has `startFrom: "snapshot"`: done when the receiver has as many events as there are users
/// and the endpoint's snapshot is complete in the database (its `outbox_backfills` row is gone). The daemon polls
/// the same users meanwhile (its first cycle writes a change for most of them): the snapshot is measured under
/// that load, not on an idle daemon.
///
/// The PostgreSQL phase (`postgres` set) gives the daemon one `events.postgresql` mirror instead of the webhook
/// endpoint (no receiver runs), drained when the mirror's cursor passes the backlog; its throughput counts from
/// the mirror's first committed page. At the end the mirror must hold exactly the backlog's rows.
struct DeliveryBenchmarkPhase: Sendable {
    var mode: WebhookEndpoint.Mode
    /// Send a snapshot of every polled user instead of draining a backlog (`events` is then the user count).
    var snapshot = false
    /// Mirror into this PostgreSQL server instead of delivering to a webhook receiver.
    var postgres: DeliveryBenchmarkPostgres?
    /// Events in the backlog.
    var events: Int
    /// Users the daemon polls while it drains.
    var pollUsers: Int
    var interval: Double
    /// Poll cycles to wait for after the drain, to compare cycle times with and without delivery.
    var cyclesAfter: Int = 3
    var timeout: Double
    var directory: URL
    var executable: String

    var name: String {
        postgres != nil ? "postgresql" : snapshot ? "snapshot" : mode == .structured ? "single" : "batch"
    }

    func run(progress: @Sendable (String) -> Void) async throws -> DeliveryBenchmarkResult {
        let database = directory.appendingPathComponent("presence.db").path
        let secretText = "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let secret = try WebhookSecret(text: secretText, source: .file("bench-secret"))
        let secretPath = directory.appendingPathComponent("bench-secret").path
        _ = FileManager.default.createFile(
            atPath: secretPath, contents: Data(secretText.utf8), attributes: [.posixPermissions: 0o600])
        let receiver = postgres == nil ? try await DeliveryBenchmarkReceiver(secret: secret) : nil

        let (lines, lineContinuation) = AsyncStream.makeStream(of: String.self)
        let configPath = directory.appendingPathComponent("config.json").path
        let simulator = try BenchmarkChild(
            name: "simulator", executable: executable,
            arguments: [
                "simulate", "--port", "0", "--users", "\(pollUsers)", "--change-rate", "0.1", "--write-config",
                configPath, "--database", database, "--interval", "\(interval)",
            ],
            errorLog: directory.appendingPathComponent("simulator.log"),
            onOutputLine: { line, _ in lineContinuation.yield(line) }, onExit: { _ in lineContinuation.finish() })
        var daemon: BenchmarkChild?
        defer {
            let simulator = simulator
            let daemon = daemon
            Task {
                await daemon?.stop()
                await simulator.stop()
            }
        }
        var listening = false
        for await line in lines where line.hasPrefix("listening on ") {
            listening = true
            break
        }
        guard listening else { throw BenchmarkError("the simulator ended before it was listening") }
        try addSink(to: configPath, url: receiver?.url ?? "")
        // The outage's backlog belongs to the tenant's own users, as after a real outage.
        let users = try String(contentsOfFile: configPath + ".users", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let seedStart = ContinuousClock.now
        let lastEventID = try await Self.seedBacklog(path: database, users: users, events: events)
        progress("\(name): backlog of \(events) events written in \(Self.seconds(ContinuousClock.now - seedStart)) s")

        let cycles = Mutex<[(finishedAt: ContinuousClock.Instant, milliseconds: Double)]>([])
        let overruns = Atomic<Int>(0)
        let started = ContinuousClock.now
        let child = try BenchmarkChild(
            name: "daemon", executable: executable, arguments: ["run", "--config", configPath],
            errorLog: directory.appendingPathComponent("daemon.log"),
            onErrorLine: { line, _ in
                // Cycle 1 reads every user for the first time (a write per user): not a fair comparison.
                if line.contains("cycle finished"), Self.field("cycle", in: line) != "1",
                    let milliseconds = Self.field("ms", in: line).flatMap(Double.init)
                {
                    cycles.withLock { $0.append((.now, milliseconds)) }
                }
                if line.contains("cycle overran") { overruns.add(1, ordering: .relaxed) }
            },
            onExit: { _ in })
        daemon = child
        let cursorName = postgres == nil ? "webhook:bench" : "postgresql:bench"
        var drainedAt: ContinuousClock.Instant?
        var cpuAtDrain: Double?
        var peakRSS = 0
        var peakPrivate = 0
        var peakFile = 0
        // The mirror's first committed page: where its throughput starts (it has no receiver to tell).
        var firstProgress: (at: ContinuousClock.Instant, cursor: Int64)?
        let deadline = started + .seconds(timeout)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            if let ended = child.ended { throw BenchmarkError("the daemon \(ended) while draining; see daemon.log") }
            if let sample = BenchmarkProcessSample.current(pid: child.pid) {
                peakRSS = max(peakRSS, sample.peakResidentKiB ?? sample.residentKiB ?? 0)
                peakPrivate = max(peakPrivate, sample.privateKiB ?? 0)
                peakFile = max(peakFile, sample.fileKiB ?? 0)
            }
            if postgres != nil, firstProgress == nil,
                let cursor = try? OutboxMaintenance.deliveredThrough(path: database, sink: cursorName), cursor > 0
            {
                firstProgress = (.now, cursor)
            }
            if drainedAt == nil, try isDone(database: database, sink: cursorName, lastEventID: lastEventID, receiver) {
                drainedAt = .now
                cpuAtDrain = BenchmarkProcessSample.current(pid: child.pid)?.cpuSeconds
                progress(
                    "\(name): drained after \(Self.seconds(.now - started)) s; waiting for \(cyclesAfter) more cycles")
            }
            if let drainedAt, cycles.withLock({ $0.filter { $0.finishedAt > drainedAt }.count }) >= cyclesAfter {
                break
            }
        }
        guard let drainedAt else {
            throw BenchmarkError("the backlog was not delivered within \(Int(timeout)) s (see \(directory.path))")
        }
        if let sample = BenchmarkProcessSample.current(pid: child.pid) {
            peakRSS = max(peakRSS, sample.peakResidentKiB ?? sample.residentKiB ?? 0)
        }
        await child.stop()
        await simulator.stop()
        await receiver?.stop()
        daemon = nil

        let counts = receiver?.counts
        let allCycles = cycles.withLock { $0 }
        // From the first event received (a mirror: its first page, whose events are left out of the count).
        let first = counts?.firstEventAt ?? firstProgress?.at ?? started
        let measured = events - Int(firstProgress?.cursor ?? 0)
        var mirrorRows: Int?
        if let postgres {
            let rows = try postgres.historyRows(through: lastEventID)
            try? postgres.dropSchema()
            guard rows == events else {
                throw BenchmarkError(
                    "the mirror holds \(rows) rows of the \(events)-event backlog (schema \(postgres.schema))")
            }
            mirrorRows = rows
        }
        let whileDraining = allCycles.filter { $0.finishedAt <= drainedAt }
        return DeliveryBenchmarkResult(
            mode: mode.rawValue, backlog: events, pollUsers: pollUsers, interval: interval,
            startToDrainedSeconds: Self.seconds(drainedAt - started),
            firstEventToDrainedSeconds: Self.seconds(drainedAt - first),
            eventsPerSecond: Double(measured) / max(0.001, Self.seconds(drainedAt - first)),
            daemonCPUSecondsToDrain: cpuAtDrain ?? 0,
            peakResidentMiB: Double(peakRSS) / 1024,
            peakPrivateMiB: Double(peakPrivate) / 1024, peakFileMiB: Double(peakFile) / 1024,
            requests: counts?.requests ?? 0, eventsReceived: counts?.events ?? 0,
            badSignatures: counts?.badSignatures ?? 0, repeatedRequests: counts?.repeatedRequests ?? 0,
            mirrorRows: mirrorRows,
            cycleMillisecondsWhileDraining: whileDraining.map(\.milliseconds),
            cycleMillisecondsAfter: allCycles.filter { $0.finishedAt > drainedAt }.map(\.milliseconds),
            maxCycleLatenessSeconds: Self.maxLateness(whileDraining.map(\.finishedAt), interval: interval),
            overruns: overruns.load(ordering: .relaxed))
    }

    /// How much later than `interval` after the previous one the latest cycle ended (0 when every one was on
    /// time): polling held back by the drain shows here even when no cycle overran.
    static func maxLateness(_ ends: [ContinuousClock.Instant], interval: Double) -> Double {
        zip(ends, ends.dropFirst()).map { max(0, seconds($1 - $0) - interval) }.max() ?? 0
    }

    /// Whether the backlog is drained (the cursor passed its last event) or the snapshot complete.
    private func isDone(
        database: String, sink: String, lastEventID: Int64, _ receiver: DeliveryBenchmarkReceiver?
    ) throws -> Bool {
        guard snapshot, let receiver else {
            return ((try? OutboxMaintenance.deliveredThrough(path: database, sink: sink)) ?? 0) >= lastEventID
        }
        // Before the daemon placed the endpoint there is no snapshot row either: count the events too.
        guard receiver.counts.events >= events else { return false }
        return try OutboxMaintenance.backfill(path: database, sink: sink) == nil
    }

    /// Writes `events` changes of `users` (each changing once per round) through the daemon's store, all
    /// undelivered; returns the last history id.
    static func seedBacklog(path: String, users ids: [String], events: Int) async throws -> Int64 {
        guard !ids.isEmpty else { throw BenchmarkError("the simulator listed no users") }
        let store = try PresenceStore(path: path, synchronous: .normal, logger: Logger(label: "benchmark-seed"))
        let users = min(ids.count, events)
        let availabilities = [
            ("Available", "Available"), ("Busy", "InAMeeting"), ("Away", "Away"), ("DoNotDisturb", "Presenting"),
        ]
        var written = 0
        var round = 0
        var last: Int64 = 0
        let start = Timestamp.now().millisecondsSinceEpoch - Int64(events / users + 1) * 60_000
        while written < events {
            let count = min(users, events - written)
            for chunk in stride(from: 0, to: count, by: 2_000) {
                let observations = (chunk..<min(count, chunk + 2_000)).map { index in
                    let (availability, activity) = availabilities[(index + round) % availabilities.count]
                    return PresenceObservation(
                        userID: ids[index],
                        state: PresenceState(
                            availability: availability, activity: activity,
                            statusMessage: round % 3 == 0 ? nil : "Back at \(round % 24):00 — \"focus\" time",
                            workLocationType: index % 2 == 0 ? "office" : "remote"),
                        sequenceNumber: "S\(round)")
                }
                let changes = try await store.record(
                    observations, observedAt: Timestamp(millisecondsSinceEpoch: start + Int64(round) * 60_000))
                last = max(last, changes.last?.historyID ?? 0)
                written += changes.count
            }
            round += 1
        }
        await store.close()
        return last
    }

    /// Adds the benchmark's endpoint (or mirror) to the configuration the simulator wrote.
    private func addSink(to configPath: String, url: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: configPath))
        guard var document = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw BenchmarkError("\(configPath) is not a JSON object")
        }
        document["events"] = eventsSection(webhookURL: url)
        try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: configPath))
    }

    /// The config's `events`: standard output off and either the webhook endpoint or the PostgreSQL mirror.
    func eventsSection(
        webhookURL: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String: Any] {
        if let postgres {
            return ["stdout": false, "postgresql": [postgres.mirrorEntry(environment: environment)]]
        }
        return [
            "stdout": false,
            "webhooks": [
                [
                    "name": "bench", "url": webhookURL, "secret": ["file": "bench-secret"], "mode": mode.rawValue,
                    "startFrom": snapshot ? "snapshot" : nil,
                ].compactMapValues { $0 }
            ],
        ]
    }

    /// The value of `key=value` in a log line.
    static func field(_ key: String, in line: String) -> String? {
        guard let range = line.range(of: " \(key)=") else { return nil }
        return String(line[range.upperBound...].prefix { $0 != " " })
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// What one mode of the delivery benchmark measured.
struct DeliveryBenchmarkResult: Codable, Sendable {
    var mode: String
    var backlog: Int
    var pollUsers: Int
    var interval: Double
    /// From the daemon's start until the cursor passed the last backlog event.
    var startToDrainedSeconds: Double
    /// From the first event the receiver got until the drain was complete.
    var firstEventToDrainedSeconds: Double
    /// Backlog events over `firstEventToDrainedSeconds`.
    var eventsPerSecond: Double
    var daemonCPUSecondsToDrain: Double
    var peakResidentMiB: Double
    /// Peak RssAnon (heap, stacks: what the drain itself costs) and RssFile (the mapped binary and libraries), as
    /// sampled every 100 ms.
    var peakPrivateMiB: Double
    var peakFileMiB: Double
    var requests: Int
    /// Events the receiver counted (the backlog plus what polling added, plus redeliveries).
    var eventsReceived: Int
    var badSignatures: Int
    var repeatedRequests: Int
    /// PostgreSQL mode: the mirror's history rows of the backlog (checked equal to `backlog`).
    var mirrorRows: Int?
    var cycleMillisecondsWhileDraining: [Double]
    var cycleMillisecondsAfter: [Double]
    /// The largest delay of a cycle's end past `interval` after the previous cycle's, while draining.
    var maxCycleLatenessSeconds: Double
    var overruns: Int
}
