/// The daemon's `cycle finished` log line, as far as the benchmark needs it.
///
/// The daemon logs through swift-log's `StreamLogHandler`, which prints metadata as space-separated `key=value`
/// pairs before the message, e.g. `... changes=206 cycle=2 ... ms=234 observed=2000 ... users=2000 cycle finished`.
struct BenchmarkCycleLine: Sendable, Equatable {
    var cycle: Int
    var users: Int
    var observed: Int
    var changes: Int
    var missing: Int
    var failedBatches: Int
    /// Wall time of the cycle as the daemon measured it.
    var milliseconds: Int

    /// Parses a daemon log line; nil unless it is a complete `cycle finished` line.
    init?(_ line: String) {
        guard line.contains("cycle finished") else { return nil }
        var values: [Substring: Int] = [:]
        for word in line.split(separator: " ") {
            guard let equals = word.firstIndex(of: "="), let value = Int(word[word.index(after: equals)...]) else {
                continue
            }
            values[word[..<equals]] = value
        }
        guard let cycle = values["cycle"], let observed = values["observed"], let changes = values["changes"],
            let milliseconds = values["ms"]
        else { return nil }
        self.cycle = cycle
        self.users = values["users"] ?? observed
        self.observed = observed
        self.changes = changes
        self.missing = values["missing"] ?? 0
        self.failedBatches = values["failed_batches"] ?? 0
        self.milliseconds = milliseconds
    }
}

/// What the benchmark knows about one finished cycle: the daemon's own report plus readings taken from outside.
struct BenchmarkCycleRecord: Sendable, Codable {
    var cycle: Int
    var observed: Int
    var changes: Int
    var missing: Int
    var failedBatches: Int
    /// Wall time of the cycle as the daemon logged it.
    var wallMilliseconds: Int
    /// Seconds from starting the daemon to reading its `cycle finished` line.
    var secondsSinceDaemonStart: Double
    /// The daemon, read right after its `cycle finished` line arrived.
    var daemon: BenchmarkProcessSample?
    /// The simulator, read at the same moment.
    var simulator: BenchmarkProcessSample?
    /// Event lines read from the daemon's standard output by then (may trail the cycle by a few lines).
    var eventLinesRead: Int

    init(
        _ line: BenchmarkCycleLine, at seconds: Double, daemon: BenchmarkProcessSample?,
        simulator: BenchmarkProcessSample?, eventLinesRead: Int
    ) {
        cycle = line.cycle
        observed = line.observed
        changes = line.changes
        missing = line.missing
        failedBatches = line.failedBatches
        wallMilliseconds = line.milliseconds
        secondsSinceDaemonStart = seconds
        self.daemon = daemon
        self.simulator = simulator
        self.eventLinesRead = eventLinesRead
    }
}

/// The daemon's CPU use from when a cycle's event stream went quiet until shortly before the next cycle starts.
struct BenchmarkIdleWindow: Sendable, Codable {
    /// The cycle the window follows.
    var afterCycle: Int
    var seconds: Double
    var cpuSeconds: Double
}
