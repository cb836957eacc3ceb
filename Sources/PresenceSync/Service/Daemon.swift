import Foundation
import Logging

/// The long-running service: opens the store, signs in, and runs poll cycles on the timer until told to stop.
///
/// Shutdown (a signal, `stop()`, or `maxCycles` reached) cancels the cycle in flight: batches not yet sent are
/// dropped, a batch being stored finishes and its events are emitted, then the sinks are flushed, the database
/// is checkpointed and closed, and `run()` returns normally.
public final class Daemon: Sendable {
    /// Options that are not part of the configuration file (command line, tests, benchmark).
    public struct Options: Sendable {
        /// Stop after this many cycles (nil: run until stopped).
        public var maxCycles: Int?
        /// Extra sink added next to the configured ones (tests).
        public var extraSink: (any EventSink)?
        /// Process environment for secrets ($CREDENTIALS_DIRECTORY, variables).
        public var environment: [String: String] = ProcessInfo.processInfo.environment

        public init(maxCycles: Int? = nil, extraSink: (any EventSink)? = nil) {
            self.maxCycles = maxCycles
            self.extraSink = extraSink
        }
    }

    public let configuration: Configuration
    private let options: Options
    private let logger: Logger
    private let stopRequests: AsyncStream<Void>
    private let stopContinuation: AsyncStream<Void>.Continuation

    public init(configuration: Configuration, options: Options = Options(), logger: Logger) {
        self.configuration = configuration
        self.options = options
        self.logger = logger
        (stopRequests, stopContinuation) = AsyncStream.makeStream(of: Void.self)
    }

    /// Asks a running daemon to shut down (same as SIGTERM).
    public func stop() { stopContinuation.yield() }

    /// Runs until stopped. Throws only when start-up fails (database cannot be opened or migrated).
    public func run(signals: ShutdownSignals? = nil) async throws {
        let configuration = self.configuration
        let store = try PresenceStore(
            path: configuration.databasePath, lastSeenWriteSeconds: configuration.polling.lastSeenWriteSeconds,
            logger: logger)
        if case .secret(let source) = configuration.credential, let warning = source.permissionWarning() {
            logger.warning("\(warning)")
        }
        let http = GraphHTTP(
            connectTimeoutSeconds: configuration.polling.connectTimeoutSeconds,
            requestTimeoutSeconds: configuration.polling.requestTimeoutSeconds)
        let tokens = AccessTokenProvider(
            tenantID: configuration.tenantID, clientID: configuration.clientID, credential: configuration.credential,
            endpoints: configuration.endpoints, http: http, logger: logger, environment: options.environment)
        var sinks: [any EventSink] = []
        if configuration.events.stdout { sinks.append(StdoutSink(logger: logger)) }
        if let extra = options.extraSink { sinks.append(extra) }
        let sink = MultiplexEventSink(sinks)
        let poller = PresencePoller(
            users: configuration.users,
            client: PresenceClient(http: http, tokens: tokens, endpoints: configuration.endpoints, logger: logger),
            store: store, sink: sink,
            pacer: RequestPacer(
                limit: configuration.polling.requestBudget,
                window: .milliseconds(Int64(configuration.polling.budgetWindowSeconds * 1000))),
            settings: configuration.polling, eventSource: configuration.events.source, logger: logger)
        logger.info(
            "presence-sync started",
            metadata: [
                "users": "\(configuration.users.count)", "database": "\(configuration.databasePath)",
                "interval": "\(configuration.polling.intervalSeconds)s", "graph": "\(configuration.endpoints.graphBaseURL)",
            ])

        let stopRequests = self.stopRequests
        await withTaskGroup(of: String.self) { group in
            group.addTask { await self.pollLoop(poller) }
            if let days = configuration.history.retentionDays {
                group.addTask {
                    await HistoryRetention(store: store, days: days, logger: self.logger).run()
                    return "retention stopped"
                }
            }
            group.addTask {
                for await _ in stopRequests { return "stop requested" }
                return "stop stream ended"
            }
            if let signals {
                group.addTask { await signals.wait().map { "received signal \($0)" } ?? "signals ended" }
            }
            let reason = await group.next() ?? "unknown"
            logger.info("shutting down", metadata: ["reason": "\(reason)"])
            group.cancelAll()
        }
        await sink.flush()
        await store.close()
        await http.shutdown()
        logger.info("presence-sync stopped")
    }

    /// Runs cycles on the timer until cancelled or `maxCycles` is reached.
    private func pollLoop(_ poller: PresencePoller) async -> String {
        let timer = CycleTimer()
        defer { timer.cancel() }
        let interval = configuration.polling.intervalSeconds
        var number = 0
        timer.fire(after: 0)
        for await _ in timer.ticks {
            if Task.isCancelled { break }
            number += 1
            let started = ContinuousClock.now
            let summary = await poller.runCycle(number: number)
            let elapsed = ContinuousClock.now - started
            logCycle(summary, elapsed: elapsed)
            if let maxCycles = options.maxCycles, number >= maxCycles { return "completed \(number) cycles" }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            if seconds > interval {
                logger.warning(
                    "cycle overran its interval; starting the next one now",
                    metadata: ["cycle": "\(number)", "seconds": "\(seconds)", "interval": "\(interval)"])
            }
            timer.fire(after: interval - seconds)
        }
        return "poll loop cancelled"
    }

    private func logCycle(_ summary: CycleSummary, elapsed: Duration) {
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        logger.info(
            "cycle finished",
            metadata: [
                "cycle": "\(summary.number)", "users": "\(summary.users)", "observed": "\(summary.observed)",
                "changes": "\(summary.changes)", "missing": "\(summary.missing)",
                "failed_batches": "\(summary.failedBatches)", "unexpected_ids": "\(summary.unexpectedIDs)",
                "budget_waits": "\(summary.budgetWaits)", "ms": "\(milliseconds)",
            ])
    }
}
