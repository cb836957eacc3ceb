import Logging
import Synchronization

/// Runs poll cycles: reads every tracked user's presence in batches, stores what changed, signals the commits.
///
/// A cycle splits the users into batches of at most `batchSize` ids, keeps at most `maxConcurrentRequests`
/// requests in flight and asks the pacer before each one. Answers are matched to users by `id`, never by
/// position; ids nobody asked for are ignored and counted. A failed batch is skipped for this cycle (nothing
/// written) and the others go on.
///
/// **The hot path.** Nearly every observation is unchanged, so an answer is first scanned once
/// (`PresenceAnswer.scan`): per presence object its id as a `UserKey` and a fingerprint of the compared fields,
/// with no String and no allocation. A user whose fingerprint is the one the store recorded last costs nothing
/// more: no decoding, no hop to the store's thread. Only the others are decoded in full and handed to the store,
/// which compares them with the stored state. `batchCommitted` is called after a batch's changes commit, so the
/// outbox readers send their events within milliseconds.
///
/// The users come from a `TrackedUsers`, read once when a cycle starts: a new resolution applies from the next cycle.
public final class PresencePoller: Sendable {
    private let trackedUsers: TrackedUsers
    private let client: PresenceClient
    private let store: PresenceStore
    /// Paces this poller's requests; adaptive polling reads its counts.
    let pacer: RequestPacer
    private let retryPolicy: GraphRetryPolicy
    let settings: PollingSettings
    private let logger: Logger
    /// Users already reported missing, so each is logged once until it reappears.
    private let reportedMissing = Mutex<Set<String>>([])
    /// Called each time a batch finishes (stored, skipped or failed): the watchdog's sign of progress.
    private let batchFinished: @Sendable () -> Void
    /// Called after a batch's changes committed (not for batches without changes).
    private let batchCommitted: @Sendable () -> Void

    /// A poller of a fixed list of users.
    public convenience init(
        users: [String], client: PresenceClient, store: PresenceStore, pacer: RequestPacer,
        settings: PollingSettings, logger: Logger,
        batchCommitted: @escaping @Sendable () -> Void = {}, batchFinished: @escaping @Sendable () -> Void = {}
    ) {
        self.init(
            trackedUsers: TrackedUsers(users), client: client, store: store, pacer: pacer, settings: settings,
            logger: logger, batchCommitted: batchCommitted, batchFinished: batchFinished)
    }

    /// A poller of whatever `trackedUsers` holds when each cycle starts.
    public init(
        trackedUsers: TrackedUsers, client: PresenceClient, store: PresenceStore, pacer: RequestPacer,
        settings: PollingSettings, logger: Logger,
        batchCommitted: @escaping @Sendable () -> Void = {}, batchFinished: @escaping @Sendable () -> Void = {}
    ) {
        self.batchFinished = batchFinished
        self.batchCommitted = batchCommitted
        self.trackedUsers = trackedUsers
        self.client = client
        self.store = store
        self.pacer = pacer
        self.retryPolicy = GraphRetryPolicy(
            maxAttempts: settings.maxAttempts, initial: .milliseconds(Int64(settings.retryInitialSeconds * 1000)),
            maximum: .milliseconds(Int64(settings.retryMaxSeconds * 1000)))
        self.settings = settings
        self.logger = logger
    }

    /// Polls every user once. Cancellation stops new batches; a batch already storing finishes and is emitted.
    public func runCycle(number: Int) async -> CycleSummary {
        let users = trackedUsers.current
        var summary = CycleSummary(number: number, startedAt: .now(), users: users.count)
        let counts = await pacer.counts
        // Ranges, not arrays: a batch's ids are copied out only when it starts (100,000 ids are 1.6 MB of arrays).
        let batches = stride(from: 0, to: users.count, by: settings.batchSize).map {
            $0..<min($0 + settings.batchSize, users.count)
        }
        var started = 0
        await withTaskGroup(of: BatchStep.self) { group in
            var next = 0
            var requesting = 0
            // Changed observations waiting to be stored: bounded, so that a cycle where nearly everyone changed
            // (the first one) waits for the store instead of holding the tenant's decoded answers in memory.
            var storing = 0
            defer { started = next }
            func startNext() {
                let batch = Array(users[batches[next]])
                next += 1
                requesting += 1
                group.addTask { .answered(await self.request(batch)) }
            }
            while next < min(settings.maxConcurrentRequests, batches.count) { startNext() }
            for await step in group {
                switch step {
                case .answered(let answer):
                    // The request's slot is free once its answer is sorted: the write waits for the store's
                    // commit window without holding back the next request.
                    requesting -= 1
                    if answer.changed.isEmpty {
                        summary.add(answer.outcome)
                        batchFinished()
                    } else {
                        storing += answer.changed.count
                        group.addTask { .stored(await self.storeChanges(of: answer), count: answer.changed.count) }
                    }
                case .stored(let outcome, let count):
                    storing -= count
                    summary.add(outcome)
                    batchFinished()
                }
                while next < batches.count && !Task.isCancelled && requesting < settings.maxConcurrentRequests
                    && storing < Self.storingLimit
                {
                    startNext()
                }
                // No request left to answer: nothing more joins the writes waiting for the commit window.
                if requesting == 0 && (next == batches.count || Task.isCancelled) { store.flush() }
            }
        }
        summary.count(since: counts, now: await pacer.counts)
        summary.finishedAt = .now()
        summary.isSweep = started == batches.count && !Task.isCancelled
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
    struct BatchOutcome: Sendable {
        var observed = 0
        var changes = 0
        var missing = 0
        var unexpected = 0
        var failed = false
        var omissions = OmissionCounts()
    }

    /// A step of a batch in the cycle's task group: its answer sorted (changes still to store), or its changes stored.
    enum BatchStep {
        case answered(BatchAnswer)
        /// `count`: the changed observations the step handed to the store.
        case stored(BatchOutcome, count: Int)
    }

    /// One batch's answer, sorted: what it observed, and the changed observations still to store.
    struct BatchAnswer: Sendable {
        var outcome = BatchOutcome()
        /// Decoded observations of the users whose answer differs from the one recorded last.
        var changed: [PresenceObservation] = []
        /// Positions in the request of the users in `changed`, in the same order.
        var changedPositions: [Int] = []
        /// Positions in the request of the users the answer held (changed or not); empty when the batch failed.
        var observedPositions: [Int] = []
    }

    /// Changed observations that may wait for the store before no new request starts: two full commit windows.
    static let storingLimit = 2 * PresenceStore.windowObservationLimit

    /// Requests one batch and sorts its answer (nothing stored yet); a failed batch's users are marked unobserved.
    func request(_ ids: [String]) async -> BatchAnswer {
        var answer = BatchAnswer()
        guard let raw = await fetch(ids) else {
            answer.outcome.failed = true
            if !Task.isCancelled { await markUnobserved(ids) }
            return answer
        }
        let sorted: SortedAnswer
        do {
            sorted = try Self.sort(raw, requested: ids, store: store)
        } catch {
            logger.warning("batch skipped this cycle", metadata: ["users": "\(ids.count)", "error": "\(error)"])
            answer.outcome.failed = true
            await markUnobserved(ids)
            return answer
        }
        answer.outcome.unexpected = sorted.unexpected
        answer.outcome.missing = sorted.missing.count
        answer.outcome.omissions = sorted.omissions
        answer.outcome.observed = sorted.observed
        reportMissing(sorted.missing, observed: sorted.observedIndices, of: ids, requestID: raw.requestID)
        await markUnobserved(sorted.missing)
        answer.changed = sorted.changed
        answer.changedPositions = sorted.changedIndices
        answer.observedPositions = sorted.observedIndices
        return answer
    }

    /// Stores a batch's changed observations (waiting for the store's commit window) and finishes its outcome.
    func storeChanges(of answer: BatchAnswer) async -> BatchOutcome {
        var outcome = answer.outcome
        guard !answer.changed.isEmpty else { return outcome }
        do {
            outcome.changes = try await store.recordCountingChanges(answer.changed, observedAt: .now())
            if outcome.changes > 0 { batchCommitted() }
        } catch {
            logger.error("batch not stored", metadata: ["users": "\(answer.changed.count)", "error": "\(error)"])
            outcome.failed = true
            outcome.observed = 0
        }
        return outcome
    }

    /// Records users that this cycle did not observe, so that their `last_seen` stops following the sweeps.
    private func markUnobserved(_ ids: [String]) async {
        do {
            try await store.recordUnobserved(ids)
        } catch {
            logger.error("cannot record users as not observed", metadata: ["error": "\(error)"])
        }
    }

    /// One answer, matched to the request and compared with what the store recorded.
    struct SortedAnswer {
        /// Decoded observations of the users whose answer differs from the one recorded last.
        var changed: [PresenceObservation] = []
        /// Requested users in the answer (changed or not).
        var observed = 0
        /// Positions in the request of the users in `changed`, in the same order.
        var changedIndices: [Int] = []
        /// Positions in the request of the users in the answer.
        var observedIndices: [Int] = []
        var missing: [String] = []
        var unexpected = 0
        var omissions = OmissionCounts()
    }

    /// Scans `answer`, matches its objects to the requested ids by key (the first answer for each id counts; ids not
    /// requested, answered twice or not GUIDs are unexpected) and decodes only the users whose fingerprint differs
    /// from the one `store` recorded last. A kept observation carries the requested id's own string, so no copy of
    /// an id is made from the answer.
    ///
    /// Graph has so far answered in request order, one object per id: that case is recognised by comparing each
    /// object's key with the key requested at its position, without building a dictionary.
    static func sort(
        _ answer: RawPresenceAnswer, requested ids: [String], store: PresenceStore
    ) throws(GraphError) -> SortedAnswer {
        var sorted = SortedAnswer()
        var presences: [ScannedPresence] = []
        presences.reserveCapacity(ids.count)
        let keys = ids.map { UserKey($0) }
        let result: Result<SortedAnswer, GraphError> = answer.body.withUnsafeReadableBytes { raw in
            let bytes = raw.assumingMemoryBound(to: UInt8.self)
            do throws(GraphError) {
                try PresenceAnswer.scan(
                    bytes, requestID: answer.requestID, into: &presences, omissions: &sorted.omissions)
            } catch {
                return .failure(error)
            }
            // (position in the answer, position in the request) of each matched object.
            var matched: [(answer: Int, request: Int)] = []
            matched.reserveCapacity(presences.count)
            if presences.count == ids.count, zip(presences, keys).allSatisfy({ $0.key != nil && $0.key == $1 }) {
                for index in presences.indices { matched.append((index, index)) }
            } else {
                let pending = RequestedKeys(keys)
                var requestedSeen = [Bool](repeating: false, count: ids.count)
                for (index, presence) in presences.enumerated() {
                    if let key = presence.key, let requested = pending.position(of: key), !requestedSeen[requested] {
                        matched.append((index, requested))
                        requestedSeen[requested] = true
                    } else {
                        sorted.unexpected += 1
                    }
                }
                for index in ids.indices where !requestedSeen[index] { sorted.missing.append(ids[index]) }
            }
            sorted.observed = matched.count
            let differing: [(answer: Int, request: Int)] = store.withKnownFingerprints { known in
                matched.filter { pair in
                    known(presences[pair.answer].key!) != presences[pair.answer].fingerprint
                }
            }
            sorted.changedIndices = differing.map(\.request)
            sorted.changed = differing.map { pair in
                PresenceAnswer.decode(object: presences[pair.answer], in: bytes, userID: ids[pair.request])
            }
            sorted.observedIndices = matched.map(\.request)
            return .success(sorted)
        }
        return try result.get()
    }

    /// Asks Graph for one batch, retrying as `retryPolicy` says; nil when the batch is skipped this cycle.
    ///
    /// Every attempt waits for the pacer. Throttling (429, or 503 with Retry-After) pauses the pacer for every
    /// batch of the cycle until the Retry-After has passed, counted from the moment the answer arrived (also when
    /// the batch gives up), and halves its budget; the retry itself never comes before the Retry-After.
    private func fetch(_ ids: [String]) async -> RawPresenceAnswer? {
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
                let answer = try await client.presenceAnswer(for: ids)
                await pacer.answered()
                return answer
            } catch let failure {
                error = failure
            }
            let answeredAt = ContinuousClock.now
            if Task.isCancelled || error == .cancelled { return nil }
            let decision = retryPolicy.decide(error, attempt: attempt, jitter: Double.random(in: 0...1))
            if let pause = retryPolicy.throttlingPause(for: error, after: decision) {
                // Before the decision takes effect: also when this batch gives up, no batch starts early.
                await pacer.throttled(for: pause, answeredAt: answeredAt)
            }
            switch decision {
            case .giveUp:
                if error.code == .authentication {
                    // The token provider logs a failing sign-in once per streak, with what to do about it.
                    logger.debug(
                        "batch skipped this cycle: not signed in",
                        metadata: ["users": "\(ids.count)", "error": "\(error)"])
                } else {
                    logger.warning(
                        "batch skipped this cycle",
                        metadata: ["users": "\(ids.count)", "attempts": "\(attempt)", "error": "\(error)"])
                }
                return nil
            case .retry(let delay, _):
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

    /// Logs users newly missing from answers (once each) and forgets those that came back.
    private func reportMissing(_ missing: [String], observed: [Int], of ids: [String], requestID: String?) {
        let newlyMissing: [String] = reportedMissing.withLock { reported in
            if !reported.isEmpty { for index in observed { reported.remove(ids[index]) } }
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
    /// Adds the pacer's counts between `before` and `now`: requests, budget waits and throttled attempts.
    mutating func count(since before: RequestPacer.Counts, now: RequestPacer.Counts) {
        requests += now.requests - before.requests
        budgetWaits += now.waits - before.waits
        throttled += now.throttles - before.throttles
    }

    mutating func add(_ outcome: PresencePoller.BatchOutcome) {
        observed += outcome.observed
        changes += outcome.changes
        missing += outcome.missing
        unexpectedIDs += outcome.unexpected
        if outcome.failed { failedBatches += 1 }
        omissions.add(outcome.omissions)
    }
}

/// The requested keys of one batch, found by key: open addressing over a power-of-two table of positions, indexed
/// by the key's low bits (object ids are random), instead of a `Dictionary`, whose seeded hashing of every key was
/// a tenth of a zero-change cycle when Graph answers out of order.
struct RequestedKeys {
    private let keys: [UserKey?]
    /// Position + 1 of the key in each slot; 0 for an empty slot.
    private var slots: [Int32]
    private let mask: Int

    init(_ keys: [UserKey?]) {
        self.keys = keys
        var count = 16
        while count < keys.count * 2 { count *= 2 }
        slots = [Int32](repeating: 0, count: count)
        mask = count - 1
        for (position, key) in keys.enumerated() {
            guard let key else { continue }
            var slot = key.slot(mask: mask)
            while slots[slot] != 0 {
                if keys[Int(slots[slot]) - 1] == key { break }  // listed twice: the first position counts
                slot = (slot + 1) & mask
            }
            if slots[slot] == 0 { slots[slot] = Int32(position + 1) }
        }
    }

    /// The first position of `key` in the request, nil when it was not requested.
    func position(of key: UserKey) -> Int? {
        var slot = key.slot(mask: mask)
        while slots[slot] != 0 {
            let position = Int(slots[slot]) - 1
            if keys[position] == key { return position }
            slot = (slot + 1) & mask
        }
        return nil
    }
}
