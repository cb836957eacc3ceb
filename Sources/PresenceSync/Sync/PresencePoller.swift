import Logging
import Synchronization

/// Runs poll cycles: reads every tracked user's presence in batches, stores what changed, emits the events.
///
/// A cycle splits the users into batches of at most `batchSize` ids, keeps at most `maxConcurrentRequests`
/// requests in flight and asks the pacer before each one. Answers are matched to users by `id`, never by
/// position; ids nobody asked for are ignored and counted. A failed batch is skipped for this cycle (nothing
/// written) and the others go on. Events for a batch are emitted right after its transaction commits.
///
/// The users come from a `TrackedUsers`, read once when a cycle starts: a new resolution applies from the next cycle.
public final class PresencePoller: Sendable {
    private let trackedUsers: TrackedUsers
    private let client: PresenceClient
    private let store: PresenceStore
    private let sink: any EventSink
    private let pacer: RequestPacer
    private let retryPolicy: GraphRetryPolicy
    private let settings: PollingSettings
    private let eventSource: String
    private let logger: Logger
    /// Users already reported missing, so each is logged once until it reappears.
    private let reportedMissing = Mutex<Set<String>>([])
    /// Called each time a batch finishes (stored, skipped or failed): the watchdog's sign of progress.
    private let batchFinished: @Sendable () -> Void

    /// A poller of a fixed list of users.
    public convenience init(
        users: [String], client: PresenceClient, store: PresenceStore, sink: any EventSink, pacer: RequestPacer,
        settings: PollingSettings, eventSource: String, logger: Logger,
        batchFinished: @escaping @Sendable () -> Void = {}
    ) {
        self.init(
            trackedUsers: TrackedUsers(users), client: client, store: store, sink: sink, pacer: pacer,
            settings: settings, eventSource: eventSource, logger: logger, batchFinished: batchFinished)
    }

    /// A poller of whatever `trackedUsers` holds when each cycle starts.
    public init(
        trackedUsers: TrackedUsers, client: PresenceClient, store: PresenceStore, sink: any EventSink,
        pacer: RequestPacer,
        settings: PollingSettings, eventSource: String, logger: Logger,
        batchFinished: @escaping @Sendable () -> Void = {}
    ) {
        self.batchFinished = batchFinished
        self.trackedUsers = trackedUsers
        self.client = client
        self.store = store
        self.sink = sink
        self.pacer = pacer
        self.retryPolicy = GraphRetryPolicy(
            maxAttempts: settings.maxAttempts, initial: .milliseconds(Int64(settings.retryInitialSeconds * 1000)),
            maximum: .milliseconds(Int64(settings.retryMaxSeconds * 1000)))
        self.settings = settings
        self.eventSource = eventSource
        self.logger = logger
    }

    /// Polls every user once. Cancellation stops new batches; a batch already storing finishes and is emitted.
    public func runCycle(number: Int) async -> CycleSummary {
        let users = trackedUsers.current
        var summary = CycleSummary(number: number, startedAt: .now(), users: users.count)
        let (waitsBefore, throttlesBefore) = (await pacer.waits, await pacer.throttles)
        // Ranges, not arrays: a batch's ids are copied out only when it starts (100,000 ids are 1.6 MB of arrays).
        let batches = stride(from: 0, to: users.count, by: settings.batchSize).map {
            $0..<min($0 + settings.batchSize, users.count)
        }
        await withTaskGroup(of: BatchOutcome.self) { group in
            var next = 0
            func startNext() {
                let batch = Array(users[batches[next]])
                next += 1
                group.addTask { await self.poll(batch) }
            }
            while next < min(settings.maxConcurrentRequests, batches.count) { startNext() }
            for await outcome in group {
                summary.add(outcome)
                batchFinished()
                if next < batches.count && !Task.isCancelled { startNext() }
            }
        }
        summary.budgetWaits = await pacer.waits - waitsBefore
        summary.throttled = await pacer.throttles - throttlesBefore
        summary.finishedAt = .now()
        if !Task.isCancelled || summary.observed > 0 {
            do {
                try await store.recordCycle(summary)
            } catch {
                logger.error("cannot record the cycle summary", metadata: ["error": "\(error)"])
            }
        }
        return summary
    }

    /// What one batch contributed to the cycle.
    struct BatchOutcome {
        var observed = 0
        var changes = 0
        var missing = 0
        var unexpected = 0
        var failed = false
    }

    private func poll(_ ids: [String]) async -> BatchOutcome {
        var outcome = BatchOutcome()
        guard let answer = await fetch(ids) else {
            outcome.failed = true
            return outcome
        }
        let matched = Self.match(answer.observations, requested: ids)
        outcome.unexpected = matched.unexpected
        outcome.missing = matched.missing.count
        outcome.observed = matched.observations.count
        reportMissing(matched.missing, seen: matched.observations, requestID: answer.requestID)
        let changes: [ChangeRecord]
        do {
            changes = try await store.record(matched.observations, observedAt: .now())
        } catch {
            logger.error("batch not stored", metadata: ["users": "\(ids.count)", "error": "\(error)"])
            outcome.failed = true
            outcome.observed = 0
            return outcome
        }
        outcome.changes = changes.count
        if !changes.isEmpty {
            let instanceID = store.instanceID
            await sink.emit(changes.map { ChangeEvent(change: $0, source: eventSource, storeInstanceID: instanceID) })
        }
        return outcome
    }

    /// Asks Graph for one batch, retrying as `retryPolicy` says; nil when the batch is skipped this cycle.
    ///
    /// Every attempt waits for the pacer. Throttling (429, or 503 with Retry-After) pauses the pacer for every
    /// batch of the cycle and halves its budget; the retry itself never comes before the Retry-After.
    private func fetch(_ ids: [String]) async -> PresenceBatchAnswer? {
        var attempt = 0
        while true {
            attempt += 1
            let error: GraphError
            do {
                try await pacer.acquire()
            } catch {
                return nil  // cancelled
            }
            do {
                let answer = try await client.presences(for: ids)
                await pacer.answered()
                return answer
            } catch let failure {
                error = failure
            }
            if Task.isCancelled || error == .cancelled { return nil }
            switch retryPolicy.decide(error, attempt: attempt, jitter: Double.random(in: 0...1)) {
            case .giveUp:
                if case .authentication = error {
                    // The token provider logs a failing sign-in once per streak, with what to do about it.
                    logger.debug(
                        "batch skipped this cycle: not signed in", metadata: ["users": "\(ids.count)", "error": "\(error)"])
                } else {
                    logger.warning(
                        "batch skipped this cycle",
                        metadata: ["users": "\(ids.count)", "attempts": "\(attempt)", "error": "\(error)"])
                }
                return nil
            case .retry(let delay, let throttled):
                if throttled { await pacer.throttled(for: delay) }
                logger.info(
                    "batch failed; retrying",
                    metadata: [
                        "users": "\(ids.count)", "attempt": "\(attempt)", "retry_in": "\(delay)",
                        "error": "\(error)",
                    ])
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    return nil
                }
            }
        }
    }

    /// Keeps the first answer for each requested id; counts ids not requested or answered twice.
    ///
    /// A kept observation carries the requested id's own string rather than the one parsed from the answer (equal
    /// text), so the store's index of users shares the strings of the tracked list instead of holding a second
    /// copy of every id (8 MB at 100,000 users).
    ///
    /// Graph has so far answered in request order, one object per id; that case is recognised by comparing each
    /// answer's id with the id requested at its position (still a match by id, only without hashing 650 ids into
    /// a set and out again). Any other answer takes the general path.
    static func match(
        _ observations: [PresenceObservation], requested: [String]
    ) -> (observations: [PresenceObservation], missing: [String], unexpected: Int) {
        if observations.count == requested.count, zip(observations, requested).allSatisfy({ $0.userID == $1 }) {
            var kept = observations
            for index in kept.indices { kept[index].userID = requested[index] }
            return (kept, [], 0)
        }
        var pending = Set(requested)
        var kept: [PresenceObservation] = []
        kept.reserveCapacity(observations.count)
        var unexpected = 0
        for observation in observations {
            if let requested = pending.remove(observation.userID) {
                var observation = observation
                observation.userID = requested
                kept.append(observation)
            } else {
                unexpected += 1
            }
        }
        let missing = requested.filter { pending.contains($0) }
        return (kept, missing, unexpected)
    }

    /// Logs users newly missing from answers (once each) and forgets those that came back.
    private func reportMissing(_ missing: [String], seen: [PresenceObservation], requestID: String?) {
        let newlyMissing: [String] = reportedMissing.withLock { reported in
            for observation in seen where !reported.isEmpty { reported.remove(observation.userID) }
            return missing.filter { reported.insert($0).inserted }
        }
        guard !newlyMissing.isEmpty else { return }
        let shown = newlyMissing.prefix(10).joined(separator: ", ") + (newlyMissing.count > 10 ? ", ..." : "")
        logger.warning(
            "users missing from Graph's answer (not a change; logged once per user)",
            metadata: ["count": "\(newlyMissing.count)", "users": "\(shown)", "request-id": "\(requestID ?? "-")"])
    }
}

extension CycleSummary {
    mutating func add(_ outcome: PresencePoller.BatchOutcome) {
        observed += outcome.observed
        changes += outcome.changes
        missing += outcome.missing
        unexpectedIDs += outcome.unexpected
        if outcome.failed { failedBatches += 1 }
    }
}
