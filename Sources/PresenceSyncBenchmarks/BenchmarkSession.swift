import Foundation
import Synchronization

/// One tenant size: starts `presence-sync simulate` and then `presence-sync run` as separate processes and
/// measures the daemon from the outside while it runs `cycles` poll cycles.
///
/// Readings are taken at three moments: on every `cycle finished` line (daemon and simulator, from the thread
/// that read the line), once the event stream of the cycle has gone quiet and again shortly before the next cycle
/// is due (daemon only, to measure CPU used while idle), and
/// once before the daemon starts (simulator baseline). The daemon's change events are read from its standard
/// output and counted, as a production consumer would read them.
///
/// Then a second daemon runs `restartCycles` cycles on the same database, as after a restart in production: its
/// start reads a file that already holds every user, their tracking periods and their history, which a first
/// start on an empty file never does, so its memory and first-cycle CPU are reported on their own.
struct BenchmarkSession: Sendable {
    /// The `presence-sync` executable to start (normally `/proc/self/exe`, this very binary).
    var executable: String
    var users: Int
    var cycles: Int
    var changeRate: Double
    /// Seconds between cycle starts, written into the daemon's configuration.
    var interval: Double
    /// Seconds a cycle may take past its scheduled start before the benchmark gives up.
    var cycleTimeout: Double
    /// Cycles of the second daemon, started on the same database once the first has stopped (0: none).
    var restartCycles = 2
    /// Where the configuration, database and both logs go.
    var directory: URL

    private enum Event: Sendable {
        case simulatorListening
        case cycleFinished(BenchmarkCycleRecord)
        case idle(BenchmarkIdleWindow)
        /// `cycle` (0: the simulator's start) should have finished by now.
        case overdue(cycle: Int, message: String)
        case exited(name: String, BenchmarkChild.Exit)
    }

    /// Runs both processes to the end; throws (after stopping them) if either fails or a cycle never finishes.
    func run() async throws -> BenchmarkSizeResult {
        let (events, continuation) = AsyncStream.makeStream(of: Event.self)
        var iterator = events.makeAsyncIterator()
        var timers: [Task<Void, Never>] = []
        var simulator: BenchmarkChild?
        var daemon: BenchmarkChild?
        defer {
            for timer in timers { timer.cancel() }
            continuation.finish()
        }
        func after(_ seconds: Double, _ event: Event) {
            timers.append(
                Task {
                    try? await Task.sleep(for: .seconds(max(0, seconds)))
                    if !Task.isCancelled { continuation.yield(event) }
                })
        }
        func next() async throws -> Event {
            guard let event = await iterator.next() else { throw BenchmarkError("event stream ended") }
            return event
        }

        do {
            let configPath = directory.appendingPathComponent("config.json").path
            simulator = try BenchmarkChild(
                name: "simulator", executable: executable,
                arguments: [
                    "simulate", "--port", "0", "--users", "\(users)", "--change-rate", "\(changeRate)",
                    "--write-config", configPath, "--database", directory.appendingPathComponent("presence.db").path,
                    "--interval", "\(interval)",
                ],
                errorLog: directory.appendingPathComponent("simulator.log"),
                onOutputLine: { line, _ in
                    if line.hasPrefix("listening on ") { continuation.yield(.simulatorListening) }
                },
                onExit: { continuation.yield(.exited(name: "simulator", $0)) })
            after(60, .overdue(cycle: 0, message: "the simulator did not print 'listening on' within 60 s"))
            waiting: while true {
                switch try await next() {
                case .simulatorListening: break waiting
                case .overdue(0, let message): throw BenchmarkError(message)
                case .exited(let name, let exit): throw BenchmarkError("the \(name) \(exit) before it was ready")
                default: continue
                }
            }
            let simulatorPID = simulator!.pid
            let simulatorBaseline = BenchmarkProcessSample.current(pid: simulatorPID)

            /// Starts a daemon for `cycleCount` cycles; each `cycle finished` line it logs becomes an event.
            func startDaemon(_ name: String, cycleCount: Int, log: String) throws -> (
                BenchmarkChild, ContinuousClock.Instant
            ) {
                let started = ContinuousClock.now
                let child = try BenchmarkChild(
                    name: name, executable: executable,
                    arguments: ["run", "--config", configPath, "--max-cycles", "\(cycleCount)"],
                    errorLog: directory.appendingPathComponent(log),
                    onErrorLine: { line, child in
                        guard let cycle = BenchmarkCycleLine(line) else { return }
                        // The daemon first: the closer to its log line, the less of anything else is counted.
                        let daemonSample = BenchmarkProcessSample.current(pid: child.pid)
                        let simulatorSample = BenchmarkProcessSample.current(pid: simulatorPID)
                        let record = BenchmarkCycleRecord(
                            cycle, at: (ContinuousClock.now - started).inSeconds, daemon: daemonSample,
                            simulator: simulatorSample, eventLinesRead: child.outputLineCount)
                        continuation.yield(.cycleFinished(record))
                    },
                    onExit: { continuation.yield(.exited(name: name, $0)) })
                return (child, started)
            }
            let started: ContinuousClock.Instant
            (daemon, started) = try startDaemon("daemon", cycleCount: cycles, log: "daemon.log")
            let daemonPID = daemon!.pid
            after(cycleTimeout, .overdue(cycle: 1, message: "cycle 1 did not finish within \(cycleTimeout) s"))
            let memory = MemorySampler(pid: daemonPID)
            defer { memory.stop() }

            var records: [BenchmarkCycleRecord] = []
            var idle: [BenchmarkIdleWindow] = []
            measuring: while true {
                switch try await next() {
                case .cycleFinished(let record):
                    guard record.cycle == records.count + 1 else {
                        throw BenchmarkError("the daemon reported cycle \(record.cycle) after \(records.count)")
                    }
                    records.append(record)
                    guard record.cycle < cycles else { continue }
                    // The daemon starts the next cycle `interval` after this one started.
                    let nextStart = record.secondsSinceDaemonStart - Double(record.wallMilliseconds) / 1000 + interval
                    let probe = nextStart - max(0.25, interval * 0.05)
                    let daemonChild = daemon!
                    if probe - record.secondsSinceDaemonStart >= 1 {
                        timers.append(
                            Task {
                                // Idle starts when the cycle's work is done, event stream included: the stdout
                                // relay may still be writing the cycle's last events after its log line.
                                guard
                                    let start = await Self.quietSample(
                                        of: daemonChild, until: started + .seconds(probe - 0.5))
                                else { return }
                                try? await Task.sleep(until: started + .seconds(probe), clock: .continuous)
                                guard !Task.isCancelled, let now = BenchmarkProcessSample.current(pid: daemonPID) else {
                                    return
                                }
                                let window = BenchmarkIdleWindow(
                                    afterCycle: record.cycle,
                                    seconds: (ContinuousClock.now - start.at).inSeconds,
                                    cpuSeconds: now.cpuSeconds - start.sample.cpuSeconds)
                                continuation.yield(.idle(window))
                            })
                    }
                    let deadline = max(nextStart, record.secondsSinceDaemonStart) + cycleTimeout
                    after(
                        deadline - (ContinuousClock.now - started).inSeconds,
                        .overdue(
                            cycle: record.cycle + 1,
                            message: "cycle \(record.cycle + 1) did not finish within \(cycleTimeout) s of its start"))
                case .idle(let window):
                    idle.append(window)
                case .overdue(let cycle, let message):
                    if records.count < cycle { throw BenchmarkError(message) }
                case .exited("daemon", let exit):
                    guard !exit.signalled, exit.status == 0, records.count == cycles else {
                        throw BenchmarkError("the daemon \(exit) after \(records.count) of \(cycles) cycles")
                    }
                    break measuring
                case .exited(let name, let exit):
                    throw BenchmarkError("the \(name) \(exit) during cycle \(records.count + 1)")
                case .simulatorListening:
                    continue
                }
            }
            memory.stop()
            let restartRecords = try await restart(startDaemon, after, next)
            await simulator!.stop()
            var result = BenchmarkSizeResult(
                users: users, cycles: cycles, changeRate: changeRate, intervalSeconds: interval,
                simulatorCommand: simulator!.commandLine, daemonCommand: daemon!.commandLine,
                records: records, idleWindows: idle.sorted { $0.afterCycle < $1.afterCycle },
                simulatorBaseline: simulatorBaseline, eventLinesRead: daemon!.outputLineCount,
                restartRecords: restartRecords)
            (result.peakPrivateMiB, result.filePagesMiB) = memory.peak
            return result
        } catch {
            await BenchmarkCleanup.parkIfInterrupted()
            await daemon?.stop(grace: .seconds(5))
            await simulator?.stop(grace: .seconds(5))
            throw BenchmarkError(
                """
                \(users) users: \(error)
                  files kept in \(directory.path)
                \(logTail("daemon.log"))\(logTail("daemon-restart.log"))\(logTail("simulator.log"))
                """)
        }
    }

    /// Runs the second daemon on the same database to its end and returns its cycle readings.
    private func restart(
        _ startDaemon: (String, Int, String) throws -> (BenchmarkChild, ContinuousClock.Instant),
        _ after: (Double, Event) -> Void, _ next: () async throws -> Event
    ) async throws -> [BenchmarkCycleRecord] {
        guard restartCycles > 0 else { return [] }
        let (daemon, _) = try startDaemon("restarted daemon", restartCycles, "daemon-restart.log")
        var records: [BenchmarkCycleRecord] = []
        let limit = cycleTimeout + interval * Double(restartCycles)
        after(limit, .overdue(cycle: -1, message: "the restarted daemon did not finish within \(limit) s"))
        do {
            while true {
                switch try await next() {
                case .cycleFinished(let record):
                    guard record.cycle == records.count + 1 else {
                        throw BenchmarkError(
                            "the restarted daemon reported cycle \(record.cycle) after \(records.count)")
                    }
                    records.append(record)
                case .exited("restarted daemon", let exit):
                    guard !exit.signalled, exit.status == 0, records.count == restartCycles else {
                        throw BenchmarkError(
                            "the restarted daemon \(exit) after \(records.count) of \(restartCycles) cycles")
                    }
                    return records
                case .exited(let name, let exit):
                    throw BenchmarkError("the \(name) \(exit) while the restarted daemon ran")
                case .overdue(-1, let message):
                    throw BenchmarkError(message)
                case .idle, .overdue, .simulatorListening:
                    continue  // readings and deadlines of the first daemon, which has stopped
                }
            }
        } catch {
            await daemon.stop(grace: .seconds(5))
            throw error
        }
    }

    /// A sample of `child` taken once its standard output (the event stream) has been silent for half a second;
    /// nil if that does not happen before `deadline`.
    private static func quietSample(
        of child: BenchmarkChild, until deadline: ContinuousClock.Instant
    ) async -> (at: ContinuousClock.Instant, sample: BenchmarkProcessSample)? {
        var lines = child.outputLineCount
        var unchangedSince = ContinuousClock.now
        while ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            let now = child.outputLineCount
            if now != lines {
                lines = now
                unchangedSince = .now
            } else if ContinuousClock.now - unchangedSince >= .milliseconds(500) {
                guard let sample = BenchmarkProcessSample.current(pid: child.pid) else { return nil }
                return (.now, sample)
            }
        }
        return nil
    }

    /// The last lines of a child's log, indented, for error messages.
    private func logTail(_ name: String, lines: Int = 12) -> String {
        let path = directory.appendingPathComponent(name).path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty else { return "" }
        let tail = text.split(separator: "\n").suffix(lines).map { "    \($0)" }.joined(separator: "\n")
        return "  last lines of \(name):\n\(tail)\n"
    }
}

extension Duration {
    /// The duration as a number of seconds.
    fileprivate var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// Samples a process's private memory (RssAnon) every 20 ms and keeps the highest reading, with the file pages
/// (RssFile) at that moment: the kernel keeps a high-water mark only for the total (VmHWM), which also counts the
/// binary's code pages, while the memory target is about private memory.
final class MemorySampler: Sendable {
    private let state = Mutex<(privateKiB: Int, fileKiB: Int, stopped: Bool)>((0, 0, false))

    init(pid: pid_t) {
        let thread = Thread { [self] in
            while !state.withLock({ $0.stopped }) {
                if let sample = BenchmarkProcessSample.current(pid: pid), let anon = sample.privateKiB {
                    state.withLock { reading in
                        if anon > reading.privateKiB { reading = (anon, sample.fileKiB ?? 0, false) }
                    }
                }
                usleep(20_000)
            }
        }
        thread.start()
    }

    /// Stops sampling (idempotent).
    func stop() { state.withLock { $0.stopped = true } }

    /// The highest private memory seen and the file pages at that moment, in MiB (nil before any reading).
    var peak: (privateMiB: Double?, fileMiB: Double?) {
        state.withLock { reading in
            reading.privateKiB == 0 ? (nil, nil) : (Double(reading.privateKiB) / 1024, Double(reading.fileKiB) / 1024)
        }
    }
}
