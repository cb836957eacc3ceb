import Foundation
import Logging
import ServiceLifecycle
import Synchronization

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
        /// Extra sink fed from the outbox together with standard output, from the same cursor (tests).
        public var extraSink: (any EventSink)?
        /// Process environment for secrets ($CREDENTIALS_DIRECTORY, variables).
        public var environment: [String: String] = ProcessInfo.processInfo.environment
        /// The file a reload (SIGHUP, `reload()`) re-reads; nil: reloads are refused with a log line.
        public var configurationFile: String?
        /// When set, a reload applies the new file's `logLevel` through it (nil: the level is fixed, e.g. by
        /// `--log-level`).
        public var logLevelControl: LogLevelControl?

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
    private let reloadRequests: AsyncStream<Void>
    private let reloadContinuation: AsyncStream<Void>.Continuation
    /// When a sweep was last logged at info (see `logCycle`).
    private let lastSweepLog = Mutex<ContinuousClock.Instant?>(nil)

    public init(configuration: Configuration, options: Options = Options(), logger: Logger) {
        self.configuration = configuration
        self.options = options
        self.logger = logger
        (stopRequests, stopContinuation) = AsyncStream.makeStream(of: Void.self)
        (reloadRequests, reloadContinuation) = AsyncStream.makeStream(
            of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks a running daemon to shut down (same as SIGTERM).
    public func stop() { stopContinuation.yield() }

    /// Asks a running daemon to re-read its configuration file (same as SIGHUP).
    public func reload() { reloadContinuation.yield() }

    /// How long a batch's changes may wait for other batches to share their transaction: a cycle at 100,000 users
    /// commits a few times instead of once per batch or two (each commit an fsync and a rewrite of every page it
    /// touched), and an event leaves at most this much later. The cycle's last answer ends the window early.
    static let commitWindow = Duration.milliseconds(200)

    /// Runs until stopped. Throws only when start-up fails (database cannot be opened or migrated) or the metrics
    /// and health endpoint cannot serve (after shutting down the rest as on a stop).
    public func run(signals: ShutdownSignals? = nil) async throws {
        let configuration = self.configuration
        let store = try PresenceStore(
            path: configuration.databasePath, synchronous: configuration.databaseSynchronous,
            expectedUsers: configuration.users.count + configuration.userPrincipalNames.count,
            newSinkWindowHours: configuration.events.outboxRetentionHours, commitWindow: Self.commitWindow,
            logger: logger)
        // Reading a large users file and the database leaves freed buffers behind; the daemon runs for months.
        HeapTrim.releaseFreeMemory()
        if let warning = configuration.credential.secretSource.permissionWarning() {
            logger.warning("\(warning)")
        }
        let http = GraphHTTP(
            connectTimeoutSeconds: configuration.polling.connectTimeoutSeconds,
            requestTimeoutSeconds: configuration.polling.requestTimeoutSeconds)
        // Metrics are only collected when someone can read them.
        let metrics = configuration.observability.listen.map { _ in DaemonMetrics() }
        let tokens = AccessTokenProvider(
            tenantID: configuration.tenantID, clientID: configuration.clientID, credential: configuration.credential,
            endpoints: configuration.endpoints, http: http, logger: logger, environment: options.environment,
            recorder: metrics)
        // Events reach the sinks from the outbox (written with the history), never straight from the cycle: the
        // cycle only wakes the outbox readers. The set of readers follows the configuration across reloads.
        let transport = WebhookTransport()
        let readerFactory = OutboxReaderFactory(
            store: store, transport: transport, extraSink: options.extraSink, environment: options.environment,
            tenantID: configuration.tenantID, recorder: metrics, logger: logger)
        let readerPlans: [OutboxReaders.Plan]
        do {
            readerPlans = try readerFactory.plans(for: configuration)
        } catch {
            await transport.shutdown()
            await store.close()
            await http.shutdown()
            throw error
        }
        let readers = OutboxReaders()
        let client = PresenceClient(
            http: http, tokens: tokens, endpoints: configuration.endpoints, logger: logger, recorder: metrics)
        let tracker = UserTracker(
            configuration: configuration,
            resolver: UserResolver(
                session: GraphSession(http: http, tokens: tokens, endpoints: configuration.endpoints, logger: logger)),
            store: store, logger: logger, resolutionFinished: { metrics?.resolutionFinished($0) })
        let notifier = SystemdNotifier(environment: options.environment)
        let watchdog = ProgressWatchdog(initialAllowance: ProgressWatchdog.batchAllowance(configuration.polling))
        let logger = self.logger
        // A reload builds a new poller from the merged configuration; the store, client and sinks stay.
        let makePlan: @Sendable (Configuration) -> PollSchedule.Plan = { configuration in
            let poller = PresencePoller(
                trackedUsers: tracker.trackedUsers, client: client, store: store,
                pacer: RequestPacer(
                    limit: configuration.polling.pacedRequestLimit,
                    window: .milliseconds(Int64(configuration.polling.budgetWindowSeconds * 1000))),
                settings: configuration.polling, logger: logger,
                batchCommitted: { readers.notifyAll() },
                batchFinished: {
                    watchdog.expectProgress(within: ProgressWatchdog.batchAllowance(configuration.polling))
                })
            return PollSchedule.Plan(configuration: configuration, poller: poller)
        }
        let schedule = PollSchedule(plan: makePlan(configuration))
        logger.info(
            "presence-sync started",
            metadata: [
                "users": "\(configuration.users.count)", "upns": "\(configuration.userPrincipalNames.count)",
                "groups": "\(configuration.groups.count)", "database": "\(configuration.databasePath)",
                "interval": "\(configuration.polling.intervalSeconds)s",
                "graph": "\(configuration.endpoints.graphBaseURL)",
            ])
        notifier.ready(status: "started; resolving users, then the first cycle runs")

        let stopRequests = self.stopRequests
        let endpoint = configuration.observability.listen.flatMap { address in
            metrics.map { ObservabilityServer(address: address, metrics: $0, logger: logger) }
        }
        if let endpoint, !endpoint.address.isLoopback {
            logger.warning(
                "the metrics and health endpoint is reachable beyond this machine",
                metadata: ["address": "\(endpoint.address)"])
        }
        let reloader = ConfigurationReloader(
            file: options.configurationFile, environment: options.environment,
            logLevelControl: options.logLevelControl, schedule: schedule, makePlan: makePlan, tracker: tracker,
            readers: readers, makeReaders: readerFactory.plans(for:), notifier: notifier, watchdog: watchdog,
            logger: logger)
        let shutdown = ShutdownReason { reason in
            logger.info("shutting down", metadata: ["reason": "\(reason)"])
            notifier.stopping()
        }
        func service(_ name: String, _ body: @escaping @Sendable () async -> String) -> DaemonService {
            DaemonService(description: name, shutdown: shutdown, body: body)
        }
        // Stopped in reverse order: first the listeners, then the poll loop (its batch in flight is stored and
        // its events relayed below), the tracker, the maintenance loops and the endpoint last.
        var services: [DaemonService] = []
        if let endpoint { services.append(service("metrics endpoint") { await endpoint.run() }) }
        if let interval = notifier.watchdogInterval {
            services.append(
                service("watchdog") {
                    await watchdog.run(notifier: notifier, interval: interval, logger: logger)
                    return "watchdog stopped"
                })
        }
        if let days = configuration.history.retentionDays {
            services.append(
                service("history retention") {
                    await HistoryRetention(store: store, days: days, sinks: { readers.names }, logger: logger).run()
                    return "retention stopped"
                })
        }
        services.append(
            service("outbox retention") {
                await OutboxRetention(
                    store: store, hours: configuration.events.outboxRetentionHours, sinks: { readers.names },
                    logger: logger
                ).run()
                return "outbox retention stopped"
            })
        services.append(
            service("user tracker") {
                await tracker.run()
                return "user resolution stopped"
            })
        services.append(
            service("poll loop") {
                await self.pollLoop(
                    schedule, tracker: tracker, readers: readers, store: store, notifier: notifier,
                    watchdog: watchdog, metrics: metrics)
            })
        let reloadRequests = self.reloadRequests
        services.append(
            service("reload listener") {
                for await _ in reloadRequests { await reloader.reload() }
                return "reload requests ended"
            })
        if let signals {
            let reloads = self.reloadContinuation
            services.append(
                service("signal listener") {
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { for await _ in signals.reloadRequests { reloads.yield() } }
                        let number = await signals.wait()
                        group.cancelAll()
                        return number.map { "received signal \($0)" } ?? "signals ended"
                    }
                })
        }
        services.append(
            service("stop listener") {
                for await _ in stopRequests { return "stop requested" }
                return "stop stream ended"
            })
        await readers.apply(readerPlans)
        // The daemon owns the process's signals (`ShutdownSignals`: a second one exits 130), so the group installs
        // no handlers of its own.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map(\.configuration), gracefulShutdownSignals: [], cancellationSignals: [],
                logger: logger))
        do {
            try await group.run()
        } catch {
            logger.error("a service of the daemon failed", metadata: ["error": "\(error)"])
        }
        // The last batch has been stored by now: hand its events (and any backlog) to standard output. Webhook
        // dispatchers save their cursors as they stop; what they did not send goes out after the next start.
        let relay = readers.reader(named: "stdout") as? OutboxRelay
        await readers.stopAll()
        await relay?.drain()
        await transport.shutdown()
        await store.close()
        await http.shutdown()
        logger.info("presence-sync stopped")
        if let failure = endpoint?.failure { throw failure }
    }

    /// Polls until cancelled or `maxCycles` cycles (sweeps, in adaptive mode) have finished: fixed cycles on the
    /// schedule's timer, or adaptive polling, switching between them when a reload changes `polling.mode`.
    ///
    /// Each step promises the watchdog its next one: the next tick within the interval (plus the same slack a
    /// batch gets), the first batch of a cycle, or the next batch in adaptive mode, within one batch allowance.
    ///
    /// After each cycle or sweep the outbox backlog of every reader is measured for the `STATUS=` line and, with
    /// `metrics`, recorded with the cycle's summary.
    private func pollLoop(
        _ schedule: PollSchedule, tracker: UserTracker, readers: OutboxReaders, store: PresenceStore,
        notifier: SystemdNotifier, watchdog: ProgressWatchdog, metrics: DaemonMetrics?
    ) async -> String {
        defer { schedule.timer.cancel() }
        var number = 0
        // The first cycle polls the resolved users. Resolution retries throttled requests, so it may take a
        // while: after `firstResolutionWait` the cycles start with the users known so far (the listed ids and
        // whom the last run tracked) and pick up the rest when the resolution ends. Object ids alone need no
        // Graph request, so then the first cycle does not wait at all. (Waiting for the `users` table's update
        // at 100,000 ids was tried: the benchmark's peak RSS rose from 104 to 109 MiB, so it does not wait.)
        let configuration = schedule.plan.configuration
        if !configuration.userPrincipalNames.isEmpty || !configuration.groups.isEmpty {
            watchdog.expectProgress(within: Self.firstResolutionWait + .seconds(60))
            let resolved = await tracker.waitForFirstResolution(timeout: Self.firstResolutionWait)
            if Task.isCancelled { return "poll loop cancelled" }
            if !resolved {
                logger.warning(
                    "resolving users takes long; polling the users known so far until it ends",
                    metadata: ["users": "\(tracker.trackedUsers.current.count)"])
            }
        }
        let adaptive = AdaptivePoller(
            trackedUsers: tracker.trackedUsers, store: store, settings: configuration.polling, logger: logger)
        let report: @Sendable (CycleSummary, Duration, PollingSettings) async -> Void = { summary, elapsed, polling in
            await self.report(
                summary, elapsed: elapsed, polling: polling, readers: readers, store: store, notifier: notifier,
                metrics: metrics)
        }
        while !Task.isCancelled {
            if schedule.plan.configuration.polling.mode == .adaptive {
                let sweepsBefore = adaptive.sweepsFinished
                let reason = await adaptive.run(
                    schedule: schedule, maxSweeps: options.maxCycles.map { $0 - number + sweepsBefore },
                    batchFinished: {
                        watchdog.expectProgress(
                            within: ProgressWatchdog.batchAllowance(schedule.plan.configuration.polling))
                    },
                    sweepFinished: { summary, elapsed in
                        await report(summary, elapsed, schedule.plan.configuration.polling)
                    })
                number += adaptive.sweepsFinished - sweepsBefore
                guard schedule.plan.configuration.polling.mode == .fixed, !Task.isCancelled else { return reason }
                logger.info("switched to fixed polling")
            }
            if let reason = await fixedCycles(
                schedule, number: &number, watchdog: watchdog, report: report)
            {
                return reason
            }
            logger.info("switched to adaptive polling")
        }
        return "poll loop cancelled"
    }

    /// Runs fixed cycles on the schedule's timer until cancelled or `maxCycles` is reached (returning why), or
    /// until a reload switches to adaptive polling (returning nil).
    private func fixedCycles(
        _ schedule: PollSchedule, number: inout Int, watchdog: ProgressWatchdog,
        report: @Sendable (CycleSummary, Duration, PollingSettings) async -> Void
    ) async -> String? {
        schedule.start()
        for await _ in schedule.timer.ticks {
            if Task.isCancelled { break }
            if schedule.plan.configuration.polling.mode == .adaptive { return nil }
            number += 1
            let plan = schedule.beginCycle()
            let polling = plan.configuration.polling
            watchdog.expectProgress(within: ProgressWatchdog.batchAllowance(polling))
            let started = ContinuousClock.now
            let summary = await plan.poller.runCycle(number: number)
            let elapsed = ContinuousClock.now - started
            await report(summary, elapsed, polling)
            if let maxCycles = options.maxCycles, number >= maxCycles { return "completed \(number) cycles" }
            let delay = schedule.endCycle()
            watchdog.expectProgress(within: ProgressWatchdog.idleAllowance(polling))
            if delay == .zero {
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                logger.warning(
                    "cycle overran its interval; starting the next one now",
                    metadata: ["cycle": "\(number)", "seconds": "\(seconds)", "interval": "\(polling.intervalSeconds)"])
            }
        }
        return "poll loop cancelled"
    }

    /// Logs a finished cycle (or sweep), and hands it with each reader's outbox backlog to the `STATUS=` line and,
    /// with `metrics`, to the metrics.
    private func report(
        _ summary: CycleSummary, elapsed: Duration, polling: PollingSettings, readers: OutboxReaders,
        store: PresenceStore, notifier: SystemdNotifier, metrics: DaemonMetrics?
    ) async {
        logCycle(summary, elapsed: elapsed)
        // Counting a backlog reads the outbox after each cursor: only when someone will see the figures.
        var backlogs: [(sink: String, count: Int)] = []
        for reader in readers.names where notifier.isEnabled || metrics != nil {
            guard let backlog = try? await store.outboxBacklog(sink: reader) else { continue }
            backlogs.append((reader, backlog.count))
            metrics?.outboxBacklog(sink: reader, count: backlog.count, oldest: backlog.oldest)
        }
        notifier.status(Self.statusLine(summary, backlogs: backlogs))
        metrics?.cycleFinished(
            summary, elapsed: elapsed,
            intervalSeconds: polling.mode == .fixed ? polling.intervalSeconds : polling.maxStalenessSeconds)
        HeapTrim.releaseFreeMemory()
    }

    /// How long the first cycle waits for the first resolution of UPNs and groups.
    static let firstResolutionWait = Duration.seconds(120)

    /// `systemctl status`'s one-line view of the last cycle and of the undelivered events per sink.
    static func statusLine(_ summary: CycleSummary, backlogs: [(sink: String, count: Int)]) -> String {
        var cycle =
            "\(summary.stalestSeconds == nil ? "cycle" : "sweep") \(summary.number) at \(summary.finishedAt): "
            + "\(summary.users) users, \(summary.changes) changes, "
            + "\(summary.missing) missing, \(summary.failedBatches) failed batches, "
            + "\(summary.throttled) throttled, \(summary.budgetWaits) throttle waits"
        if let use = summary.budgetUse, let stalest = summary.stalestSeconds {
            cycle +=
                ", \(summary.requests) requests, \(Int((use * 100).rounded())) % of budget, stalest user \(Int(stalest.rounded())) s"
        }
        guard !backlogs.isEmpty else { return cycle + "; no event sinks" }
        return cycle + "; backlog " + backlogs.map { "\($0.sink) \($0.count)" }.joined(separator: ", ")
    }

    /// Logs a finished cycle at info. A sweep (adaptive polling) too, but at most one a minute: a small tenant
    /// sweeps several times a second; the others go to debug.
    private func logCycle(_ summary: CycleSummary, elapsed: Duration) {
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        var metadata: Logger.Metadata = [
            "cycle": "\(summary.number)", "users": "\(summary.users)", "observed": "\(summary.observed)",
            "changes": "\(summary.changes)", "missing": "\(summary.missing)",
            "failed_batches": "\(summary.failedBatches)", "unexpected_ids": "\(summary.unexpectedIDs)",
            "budget_waits": "\(summary.budgetWaits)", "throttled": "\(summary.throttled)", "ms": "\(milliseconds)",
        ]
        guard let stalest = summary.stalestSeconds else {
            logger.info("cycle finished", metadata: metadata)
            return
        }
        metadata["requests"] = "\(summary.requests)"
        metadata["budget_use"] = "\(summary.budgetUse.map { String(format: "%.2f", $0) } ?? "-")"
        metadata["stalest_s"] = "\(String(format: "%.1f", stalest))"
        let now = ContinuousClock.now
        let atInfo = lastSweepLog.withLock { last in
            guard last.map({ now - $0 >= .seconds(60) }) ?? true else { return false }
            last = now
            return true
        }
        logger.log(level: atInfo ? .info : .debug, "sweep finished", metadata: metadata)
    }
}
