import Logging
import Synchronization

/// Adaptive polling: a Dispatch timer starts requests at an even pace (`budgetShare` of the request budget), and
/// each request carries the users the `AdaptiveScheduler` ranks first.
///
/// A request's answer is sorted and stored exactly as in a fixed cycle (`PresencePoller.request`, then
/// `storeChanges`), and then reported to the scheduler: who was observed, who changed and to what, who was
/// missing; a failed request's users are due again at once. A request slot is free once its answer is sorted, so
/// the store's commit window never holds the pace back; `maxConcurrentRequests` and the poller's bound on changes
/// waiting for the store skip a tick rather than pile requests up.
///
/// The poller of the plan in force (`PollSchedule.plan`) is read at every tick, so a reload applies a new share,
/// bound or batch size from the next request, and a switch to `fixed` ends `run` after the requests in flight.
final class AdaptivePoller: Sendable {
    /// What a finished sweep reports: its summary and how long it took.
    typealias SweepHandler = @Sendable (CycleSummary, Duration) async -> Void

    private struct State {
        var scheduler: AdaptiveScheduler
        /// `TrackedUsers.version` the scheduler follows; -1 before the first.
        var trackedVersion = -1
        /// Grows when the scheduler's slots change, so that reports of older batches are mapped by id.
        var generation = 0
        var requesting = 0
        var storing = 0
        /// The running sweep's summary.
        var summary: CycleSummary
        var sweepStart: ContinuousClock.Instant
        var pacerCounts = RequestPacer.Counts()
        var sweepsFinished = 0
        /// Sweeps finished that are not yet recorded (recording awaits the store).
        var finished: [(summary: CycleSummary, pacer: RequestPacer, elapsed: Duration)] = []
        /// The polling settings in force (the plan's, read at every tick).
        var polling: PollingSettings
    }

    private let trackedUsers: TrackedUsers
    private let store: PresenceStore
    private let logger: Logger
    private let origin = ContinuousClock.now
    private let state: Mutex<State>

    init(trackedUsers: TrackedUsers, store: PresenceStore, settings: PollingSettings, logger: Logger) {
        self.trackedUsers = trackedUsers
        self.store = store
        self.logger = logger
        let now = ContinuousClock.now
        self.state = Mutex(
            State(
                scheduler: AdaptiveScheduler(settings: Self.schedulerSettings(settings), now: 0),
                summary: CycleSummary(number: 1, startedAt: .now(), users: 0), sweepStart: now, polling: settings))
    }

    /// Sweeps finished since `run` first started.
    var sweepsFinished: Int { state.withLock { $0.sweepsFinished } }

    /// Runs until cancelled, until `schedule`'s plan switches to fixed polling, or until `maxSweeps` sweeps have
    /// finished; the requests in flight finish first. `batchFinished` is the watchdog's sign of progress.
    func run(
        schedule: PollSchedule, maxSweeps: Int?, batchFinished: @escaping @Sendable () -> Void,
        sweepFinished: @escaping SweepHandler
    ) async -> String {
        var polling = schedule.plan.configuration.polling
        state.withLock { $0.polling = polling }
        let timer = CycleTimer()
        defer { timer.cancel() }
        timer.repeatEvery(seconds: Self.tickSeconds(polling))
        logger.info(
            "adaptive polling started",
            metadata: [
                "requests_per_second": "\(polling.adaptiveRequestsPerSecond)",
                "max_staleness": "\(polling.maxStalenessSeconds)s", "budget_share": "\(polling.budgetShare)",
            ])
        var reason = "adaptive polling cancelled"
        // Requests owed by the pace and not yet sent; a tick adds the time since the last one's worth.
        var credit = 0.0
        var lastTick = ContinuousClock.now
        await withDiscardingTaskGroup { group in
            for await _ in timer.ticks {
                if Task.isCancelled { break }
                if let maxSweeps, sweepsFinished >= maxSweeps {
                    reason = "completed \(maxSweeps) sweeps"
                    break
                }
                let plan = schedule.plan
                guard plan.configuration.polling.mode == .adaptive else {
                    reason = "switched to fixed polling"
                    break
                }
                if plan.configuration.polling != polling {
                    polling = plan.configuration.polling
                    timer.repeatEvery(seconds: Self.tickSeconds(polling))
                    state.withLock { state in
                        state.scheduler.update(Self.schedulerSettings(polling))
                        state.polling = polling
                    }
                }
                await followTrackedUsers(pacer: plan.poller.pacer)
                let now = ContinuousClock.now
                let rate = polling.adaptiveRequestsPerSecond
                let elapsed =
                    Double((now - lastTick).components.attoseconds) / 1e18
                    + Double((now - lastTick).components.seconds)
                lastTick = now
                // A tick that came late owes more, up to two ticks' worth (a stall is not made up in a burst).
                credit = min(credit + rate * elapsed, max(1, 2 * rate * Self.tickSeconds(polling)))
                let poller = plan.poller
                while credit >= 1, let batch = takeBatch(polling) {
                    credit -= 1
                    group.addTask {
                        await self.poll(batch, with: poller, batchFinished: batchFinished)
                        await self.recordFinishedSweeps(sweepFinished)
                    }
                }
            }
        }
        await recordFinishedSweeps(sweepFinished)
        return reason
    }

    /// A batch taken from the scheduler: ids, their slots and the slots' generation.
    private struct Batch {
        var ids: [String]
        var slots: [Int]
        var generation: Int
    }

    /// Seconds between ticks: one request per tick at low rates; at high ones up to five ticks a second, each
    /// sending the requests owed since the last together, as many as leave one of `maxConcurrentRequests` free.
    /// Waking every 40 ms for one request each cost the daemon more than the requests themselves: at 25 requests
    /// a second and 100,000 users, 10.3 % of a core (7.2 % with 0.2 s ticks) against fixed cycles' 3.9 %.
    static func tickSeconds(_ polling: PollingSettings) -> Double {
        let rate = polling.adaptiveRequestsPerSecond
        return max(1 / rate, min(0.2, Double(polling.maxConcurrentRequests - 1) / rate))
    }

    /// The next batch, or nil when the request slots are full, too many changes wait for the store, or nobody is
    /// waiting.
    private func takeBatch(_ polling: PollingSettings) -> Batch? {
        state.withLock { state in
            guard state.requesting < polling.maxConcurrentRequests,
                state.storing < PresencePoller.storingLimit
            else { return nil }
            let slots = state.scheduler.nextBatch(size: polling.batchSize)
            guard !slots.isEmpty else { return nil }
            state.requesting += 1
            let ids = slots.map { state.scheduler.ids[$0] }
            return Batch(ids: ids, slots: slots, generation: state.generation)
        }
    }

    /// Requests, reports and stores one batch.
    private func poll(_ batch: Batch, with poller: PresencePoller, batchFinished: @Sendable () -> Void) async {
        let answer = await poller.request(batch.ids)
        let now = seconds(.now)
        let changedCount = answer.changed.count
        state.withLock { state in
            state.requesting -= 1
            state.storing += changedCount
            // Into the running sweep's summary before the report, which may close that sweep with this batch.
            var counted = answer.outcome
            counted.changes = 0
            state.summary.add(counted)
            report(answer, of: batch, at: now, &state, pacer: poller.pacer)
        }
        guard changedCount > 0 else {
            batchFinished()
            return
        }
        let stored = await poller.storeChanges(of: answer)
        state.withLock { state in
            state.storing -= changedCount
            state.summary.changes += stored.changes
            if stored.failed && !answer.outcome.failed { state.summary.failedBatches += 1 }
        }
        batchFinished()
    }

    /// Tells the scheduler what `answer` showed; a finished sweep is queued for recording.
    private func report(
        _ answer: PresencePoller.BatchAnswer, of batch: Batch, at now: Double, _ state: inout State,
        pacer: RequestPacer
    ) {
        var slots = batch.slots
        if batch.generation != state.generation {
            // The tracked users changed while the batch was in flight: find its users again, by id.
            var current: [String: Int] = [:]
            for (slot, id) in state.scheduler.ids.enumerated() { current[id] = slot }
            slots = batch.ids.map { current[$0] ?? -1 }
        }
        var sweepEnded = false
        if answer.outcome.failed {
            for slot in slots where slot >= 0 { state.scheduler.failed(slot, at: now) }
            return
        }
        var answered = [Bool](repeating: false, count: slots.count)
        for (index, position) in answer.changedPositions.enumerated() {
            answered[position] = true
            guard slots[position] >= 0 else { continue }
            sweepEnded =
                state.scheduler.observed(slots[position], at: now, changed: true, state: answer.changed[index].state)
                || sweepEnded
        }
        for position in answer.observedPositions where !answered[position] {
            answered[position] = true
            guard slots[position] >= 0 else { continue }
            sweepEnded = state.scheduler.observed(slots[position], at: now, changed: false) || sweepEnded
        }
        for (position, slot) in slots.enumerated() where !answered[position] && slot >= 0 {
            sweepEnded = state.scheduler.missed(slot, at: now) || sweepEnded
        }
        if sweepEnded { finishSweep(&state, pacer: pacer, now: now) }
    }

    /// Closes the running sweep's summary, queues it for recording and opens the next.
    private func finishSweep(_ state: inout State, pacer: RequestPacer, now: Double) {
        let instant = ContinuousClock.now
        var summary = state.summary
        summary.finishedAt = .now()
        summary.isSweep = true
        summary.users = state.scheduler.count
        summary.stalestSeconds = state.scheduler.stalestAge(now: now)
        state.finished.append((summary, pacer, instant - state.sweepStart))
        state.sweepsFinished += 1
        state.summary = CycleSummary(number: summary.number + 1, startedAt: .now(), users: state.scheduler.count)
        state.sweepStart = instant
    }

    /// Records the finished sweeps (with the pacer's counts since the last one) and hands each to `handler`.
    private func recordFinishedSweeps(_ handler: SweepHandler) async {
        while true {
            let next = state.withLock { $0.finished.isEmpty ? nil : $0.finished.removeFirst() }
            guard let (summary, pacer, elapsed) = next else { return }
            var recorded = summary
            let counts = await pacer.counts
            let before = state.withLock { state in
                defer { state.pacerCounts = counts }
                return state.pacerCounts
            }
            // A new pacer (after a reload) starts from zero: count from there.
            recorded.count(since: counts.requests >= before.requests ? before : RequestPacer.Counts(), now: counts)
            let seconds = elapsed / .seconds(1)
            // A share of the app's whole budget, not of the adaptive share.
            let polling = state.withLock { $0.polling }
            let fullRate = Double(polling.requestBudget) / polling.budgetWindowSeconds
            if seconds > 0 { recorded.budgetUse = Double(recorded.requests) / seconds / fullRate }
            do {
                try await store.recordCycle(recorded)
            } catch {
                logger.error("cannot record the sweep summary", metadata: ["error": "\(error)"])
            }
            await handler(recorded, elapsed)
        }
    }

    /// Brings the scheduler's users up to date with `trackedUsers` when a resolution replaced them.
    private func followTrackedUsers(pacer: RequestPacer) async {
        let (ids, current) = trackedUsers.currentWithVersion
        guard state.withLock({ $0.trackedVersion != current }) else { return }
        let now = seconds(.now)
        state.withLock { state in
            state.trackedVersion = current
            state.generation += 1
            let completed = state.scheduler.track(ids, now: now)
            state.summary.users = ids.count
            if completed { finishSweep(&state, pacer: pacer, now: now) }
        }
    }

    private func seconds(_ instant: ContinuousClock.Instant) -> Double {
        (instant - origin) / .seconds(1)
    }

    private static func schedulerSettings(_ polling: PollingSettings) -> AdaptiveScheduler.Settings {
        AdaptiveScheduler.Settings(
            maxStalenessSeconds: polling.maxStalenessSeconds,
            capacity: polling.adaptiveRequestsPerSecond * Double(polling.batchSize))
    }
}
