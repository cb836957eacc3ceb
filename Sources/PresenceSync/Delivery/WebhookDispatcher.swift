import Foundation
import Logging
import NIOHTTP1
import Synchronization

/// Delivers the outbox to one webhook endpoint, with its own cursor, backlog and state.
///
/// A reader streams events after the endpoint's cursor (a bounded window, never the whole backlog) into
/// `maxConcurrentUsers` lanes by user; each lane sends its events one request at a time, so a user's event is
/// never sent before the earlier ones were acknowledged, while users in different lanes go in parallel. A failed
/// request is retried (same webhook-id) as `RetryPolicy` decides; events it gives up on become dead letters. A
/// 410 disables the endpoint, persistently and loudly. The cursor follows the `DeliveryWatermark` and is written
/// every `cursorWriteInterval` and at shutdown; after a crash, events past it are sent again with their ids.
/// A snapshot or replay (`outbox_backfills`) goes through the same lanes: a snapshot before any live event, a
/// replay page by page between them (see `WebhookDispatcher+Backfill.swift`).
public final class WebhookDispatcher: Sendable {
    /// Events held in memory per endpoint at most (read but not yet completed): enough to keep every lane busy
    /// with full batches, small enough that draining a backlog stays well inside the daemon's memory budget.
    static let window = 5_000
    static let cursorWriteInterval = Duration.milliseconds(200)

    /// The endpoint this dispatcher delivers to, as configured.
    public let endpoint: WebhookEndpoint
    let store: any EventLog & WebhookState
    private let secrets: [WebhookSecret]
    private let transport: WebhookTransport
    private let source: String
    private let policy: RetryPolicy
    let logger: Logger
    private let recorder: (any DeliveryRecorder)?
    let wake = WakeSignal()
    let disabled = Mutex(false)
    /// Closed while a snapshot is being sent: live events wait until every snapshot event has left.
    let liveHeldBack = Mutex(true)
    /// The snapshot or replay events handed to the lanes and not completed yet.
    let backfill = BackfillProgress()
    /// A `Retry-After` is stored for this endpoint and must be cleared after the next success.
    private let retryAfterPersisted = Mutex(false)
    /// Requeued dead letters (`outbox retry`) handed to a lane and not finished yet; they sit below the cursor,
    /// so they never count for the watermark.
    private let requeuedInFlight = Mutex<Set<Int64>>([])

    public init(
        endpoint: WebhookEndpoint, secrets: [WebhookSecret], store: any EventLog & WebhookState,
        transport: WebhookTransport,
        source: String, logger: Logger, recorder: (any DeliveryRecorder)? = nil
    ) {
        self.recorder = recorder
        self.endpoint = endpoint
        self.secrets = secrets
        self.store = store
        self.transport = transport
        self.source = source
        self.policy = RetryPolicy(
            initial: .milliseconds(Int64(endpoint.retryInitialSeconds * 1000)),
            maximum: .milliseconds(Int64(endpoint.retryMaxSeconds * 1000)),
            window: .milliseconds(Int64(endpoint.retryWindowHours * 3_600_000)))
        var logger = logger
        logger[metadataKey: "endpoint"] = "\(endpoint.name)"
        self.logger = logger
    }

    /// The cursor name in `outbox_cursors`.
    public var name: String { endpoint.cursorName }

    /// New events were committed.
    public func notify() { wake.signal() }

    /// Delivers until cancelled. A disabled endpoint (410) sends nothing and looks every `enabledRecheck` whether
    /// an operator re-enabled it (`outbox enable`); then it resumes from its cursor.
    public func run() async {
        while !Task.isCancelled {
            guard await waitUntilEnabled() else { return }
            await waitForPersistedRetryAfter()
            await deliverUntilDisabled()
        }
    }

    /// How often a disabled endpoint checks whether it was re-enabled.
    static let enabledRecheck = Duration.seconds(5)

    /// Returns true once the endpoint is enabled (at once when it is), false when cancelled first.
    private func waitUntilEnabled() async -> Bool {
        var reported = false
        while !Task.isCancelled {
            do {
                guard let reason = try await store.disabledReason(endpoint: endpoint.name) else {
                    if reported { logger.notice("webhook endpoint re-enabled; delivery resumes from its cursor") }
                    disabled.withLock { $0 = false }
                    return true
                }
                if !reported {
                    logger.error(
                        "webhook endpoint is disabled; nothing is sent to it until `outbox enable` re-enables it",
                        metadata: ["reason": "\(reason)", "url": "\(endpoint.url)"])
                    reported = true
                }
            } catch {
                logger.error("cannot read the endpoint state", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: Self.enabledRecheck)
        }
        return false
    }

    /// Honours a `Retry-After` the receiver sent before a restart: nothing is sent before the time it asked for.
    private func waitForPersistedRetryAfter() async {
        guard let notBefore = try? await store.webhookNotBefore(endpoint: endpoint.name) else { return }
        retryAfterPersisted.withLock { $0 = true }  // cleared after the next success
        let wait = notBefore.millisecondsSinceEpoch - Timestamp.now().millisecondsSinceEpoch
        guard wait > 0 else { return }
        logger.notice(
            "honouring the receiver's Retry-After from before the restart",
            metadata: ["not_before": "\(notBefore)"])
        try? await Task.sleep(for: .milliseconds(wait))
    }

    /// Streams the outbox through the lanes until cancelled or the endpoint is disabled; saves the cursor.
    private func deliverUntilDisabled() async {
        var start: Int64?
        while start == nil && !Task.isCancelled {
            do {
                let placed = try await store.startOutboxCursor(sink: name, from: endpoint.startFrom)
                placed.log(sink: name, logger)
                start = placed.cursor
            } catch {
                logger.error("cannot read the endpoint cursor", metadata: ["error": "\(error)"])
                await wake.wait(timeout: .seconds(1))
            }
        }
        guard let start else { return }
        let watermark = DeliveryWatermark(start: start)
        let lanes = (0..<endpoint.maxConcurrentUsers).map { _ in DeliveryLane() }
        liveHeldBack.withLock { $0 = true }  // until `runBackfills` knows whether a snapshot comes first
        await withTaskGroup(of: Void.self) { group in
            for lane in lanes { group.addTask { await self.runLane(lane, watermark) } }
            group.addTask { await self.writeCursor(watermark) }
            group.addTask { await self.runBackfills(into: lanes) }
            await readOutbox(after: start, into: lanes, watermark)
            group.cancelAll()
        }
        await saveCursor(watermark.watermark, previous: nil)
        // Requeued events that were in flight go back to the requeue list's reader on the next pass; backfill
        // events in flight are read again from the backfill's recorded position.
        requeuedInFlight.withLock { $0.removeAll() }
        backfill.reset()
    }

    /// Streams events after `start` into the lanes, keeping at most `window` in memory.
    private func readOutbox(after start: Int64, into lanes: [DeliveryLane], _ watermark: DeliveryWatermark) async {
        var readThrough = start
        while !Task.isCancelled && !disabled.withLock({ $0 }) {
            if liveHeldBack.withLock({ $0 }) {
                await wake.wait(timeout: .milliseconds(50))
                continue
            }
            let room = Self.window - watermark.inFlight
            if room < 100 {
                await wake.wait(timeout: .milliseconds(50))
                continue
            }
            let page: [ChangeRecord]
            do {
                page = try await store.outboxEvents(after: readThrough, limit: min(room, 2000))
            } catch {
                logger.error("reading the outbox failed", metadata: ["error": "\(error)"])
                await wake.wait(timeout: .seconds(1))
                continue
            }
            guard let last = page.last else {
                await takeRequeued(into: lanes)
                await wake.wait(timeout: .seconds(1))
                continue
            }
            watermark.add(page.map(\.historyID))
            var split = Array(repeating: [ChangeRecord](), count: lanes.count)
            for record in page { split[DeliveryLane.index(of: record.userID, lanes: lanes.count)].append(record) }
            for (lane, records) in zip(lanes, split) where !records.isEmpty { lane.append(records) }
            readThrough = last.historyID
        }
    }

    /// Hands dead letters an operator requeued to the lanes (checked whenever the endpoint is idle).
    private func takeRequeued(into lanes: [DeliveryLane]) async {
        guard let records = try? await store.requeuedEvents(endpoint: endpoint.name, limit: 1000) else { return }
        let fresh = requeuedInFlight.withLock { inFlight in records.filter { inFlight.insert($0.historyID).inserted } }
        guard !fresh.isEmpty else { return }
        logger.info("sending requeued dead letters again", metadata: ["events": "\(fresh.count)"])
        for record in fresh { lanes[DeliveryLane.index(of: record.userID, lanes: lanes.count)].append([record]) }
    }

    /// Sends a lane's events in order, one request at a time, until cancelled or disabled.
    private func runLane(_ lane: DeliveryLane, _ watermark: DeliveryWatermark) async {
        let perRequest = endpoint.mode == .batch ? endpoint.maxBatchEvents : 1
        while !Task.isCancelled && !disabled.withLock({ $0 }) {
            let candidates = lane.peek(perRequest)
            if candidates.isEmpty {
                await lane.wake.wait(timeout: .seconds(1))
                continue
            }
            let (records, body) = makeBody(candidates)
            guard await deliver(records, body: body) else { return }
            lane.removeFirst(records.count)
            let ids = records.map(\.historyID)
            if records[0].origin != .live {
                backfill.complete(ids)  // one request never mixes origins (`makeBody`)
                continue
            }
            let requeued = requeuedInFlight.withLock { inFlight in ids.filter { inFlight.contains($0) } }
            if !requeued.isEmpty {
                try? await store.clearRequeued(endpoint: endpoint.name, historyIDs: requeued)
                requeuedInFlight.withLock { $0.subtract(requeued) }
            }
            watermark.complete(requeued.isEmpty ? ids : ids.filter { !requeued.contains($0) })
        }
    }

    /// The request body for as many of `records` as fit the batch limits (always at least one), all of the first
    /// one's origin (so that a request's webhook-id names one kind of event).
    private func makeBody(_ records: [ChangeRecord]) -> ([ChangeRecord], [UInt8]) {
        let instanceID = store.instanceID
        let origin = records[0].origin
        let records = records.prefix { $0.origin == origin }
        guard endpoint.mode == .batch else {
            return ([records[0]], ChangeEvent(change: records[0], source: source, storeInstanceID: instanceID).json())
        }
        var body: [UInt8] = [UInt8(ascii: "[")]
        body.reserveCapacity(min(endpoint.maxBatchBytes, records.count * 700) + 2)
        var taken = 0
        for record in records {
            let before = body.count
            if taken > 0 { body.append(UInt8(ascii: ",")) }
            ChangeEvent(change: record, source: source, storeInstanceID: instanceID).appendJSON(to: &body)
            if taken > 0 && body.count + 1 > endpoint.maxBatchBytes {
                body.removeLast(body.count - before)
                break
            }
            taken += 1
        }
        body.append(UInt8(ascii: "]"))
        return (Array(records.prefix(taken)), body)
    }

    /// Sends one request until it is done (delivered or dead-lettered): true; cancelled or disabled: false.
    private func deliver(_ records: [ChangeRecord], body: [UInt8]) async -> Bool {
        let webhookID = Self.webhookID(records, mode: endpoint.mode, instanceID: store.instanceID)
        let contentType =
            endpoint.mode == .batch
            ? "application/cloudevents-batch+json; charset=utf-8" : "application/cloudevents+json; charset=utf-8"
        let started = ContinuousClock.now
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            let timestamp = Int64(Date().timeIntervalSince1970)
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: contentType)
            headers.add(name: "user-agent", value: "presence-sync")
            headers.add(name: "webhook-id", value: webhookID)
            headers.add(name: "webhook-timestamp", value: String(timestamp))
            headers.add(
                name: "webhook-signature",
                value: WebhookSigner.signature(id: webhookID, timestamp: timestamp, body: body, secrets: secrets))
            for header in endpoint.headers { headers.add(name: header.name, value: header.value) }
            let answer: WebhookTransport.Answer
            do {
                answer = try await transport.post(
                    url: endpoint.url, headers: headers, body: body,
                    timeout: .milliseconds(Int64(endpoint.timeoutSeconds * 1000)))
            } catch {
                return false
            }
            let outcome = RetryPolicy.outcome(
                status: answer.status, retryAfterSeconds: answer.retryAfterSeconds, transportError: answer.error)
            let decision = policy.decide(
                outcome, attempt: attempt, elapsed: ContinuousClock.now - started, jitter: Double.random(in: 0...1))
            recorder?.webhookRequestFinished(
                endpoint: endpoint.name, outcome: Self.recorded(decision), events: records.count)
            switch decision {
            case .done:
                if attempt > 1 { logger.info("webhook delivered after retries", metadata: ["attempts": "\(attempt)"]) }
                if retryAfterPersisted.withLock({ $0 }) {
                    try? await store.setWebhookNotBefore(endpoint: endpoint.name, nil)
                    retryAfterPersisted.withLock { $0 = false }
                }
                return true
            case .retry(let delay):
                if let seconds = answer.retryAfterSeconds, seconds >= 1 { await persistRetryAfter(seconds) }
                if attempt.nonzeroBitCount == 1 {
                    logger.warning(
                        "webhook request failed; will retry",
                        metadata: [
                            "webhook-id": "\(webhookID)", "attempt": "\(attempt)", "retry_in": "\(delay)",
                            "error": "\(Self.reason(outcome))",
                        ])
                }
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    return false
                }
            case .deadLetter(let reason) where records[0].origin != .live:
                logger.error(
                    "webhook gave up on snapshot or replay events; they are not dead letters (a replay resends them)",
                    metadata: ["webhook-id": "\(webhookID)", "events": "\(records.count)", "error": "\(reason)"])
                return true
            case .deadLetter(let reason):
                logger.error(
                    "webhook events moved to dead letters",
                    metadata: ["webhook-id": "\(webhookID)", "events": "\(records.count)", "error": "\(reason)"])
                do {
                    try await store.recordDeadLetters(
                        endpoint: endpoint.name, events: records.map { ($0.historyID, $0.userID) }, attempts: attempt,
                        error: reason)
                } catch {
                    logger.error("cannot record dead letters; will retry", metadata: ["error": "\(error)"])
                    return false
                }
                return true
            case .disableEndpoint:
                disabled.withLock { $0 = true }
                let reason = "the receiver answered 410 Gone"
                logger.critical(
                    "WEBHOOK ENDPOINT DISABLED: \(reason); nothing more is sent to it until it is re-enabled",
                    metadata: ["url": "\(endpoint.url)", "webhook-id": "\(webhookID)"])
                try? await store.disableEndpoint(endpoint.name, reason: reason)
                wake.signal()
                return false
            }
        }
        return false
    }

    /// The webhook-id of a request: stable across retries and restarts. The event id (one event, structured mode)
    /// or the id range of a batch; a snapshot's or replay's requests name it, so that a receiver that deduplicates
    /// requests by webhook-id still takes a replay (the events inside keep their ids).
    static func webhookID(_ records: [ChangeRecord], mode: WebhookEndpoint.Mode, instanceID: String) -> String {
        let first = records[0].historyID
        let ids =
            records.count == 1 && mode == .structured ? "\(first)" : "\(first)-\(records[records.count - 1].historyID)"
        switch records[0].origin {
        case .live: return "\(instanceID):\(ids)"
        case .snapshot(let asOf): return "\(instanceID):snapshot:\(asOf):\(ids)"
        case .replay(let request): return "\(instanceID):replay:\(request):\(ids)"
        }
    }

    /// Keeps the receiver's `Retry-After` in the database so that a restart does not undercut it.
    private func persistRetryAfter(_ seconds: Double) async {
        let until = Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch + Int64(seconds * 1000))
        do {
            try await store.setWebhookNotBefore(endpoint: endpoint.name, until)
            retryAfterPersisted.withLock { $0 = true }
        } catch {
            logger.warning("cannot keep the receiver's Retry-After in the database", metadata: ["error": "\(error)"])
        }
    }

    private static func recorded(_ decision: RetryPolicy.Decision) -> DeliveryOutcome {
        switch decision {
        case .done: .delivered
        case .retry: .retried
        case .deadLetter: .deadLettered
        case .disableEndpoint: .gone
        }
    }

    private static func reason(_ outcome: RetryPolicy.Outcome) -> String {
        switch outcome {
        case .transient(let reason, _), .permanent(let reason): reason
        case .delivered: "delivered"
        case .gone: "gone"
        }
    }

    /// Writes the watermark as the cursor whenever it moved, until cancelled.
    private func writeCursor(_ watermark: DeliveryWatermark) async {
        var written: Int64?
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: Self.cursorWriteInterval)
            } catch {
                return
            }
            written = await saveCursor(watermark.watermark, previous: written)
        }
    }

    @discardableResult
    private func saveCursor(_ value: Int64, previous: Int64?) async -> Int64? {
        guard value != previous else { return previous }
        do {
            try await store.advanceOutboxCursor(sink: name, through: value)
            return value
        } catch {
            logger.error("cannot write the endpoint cursor", metadata: ["error": "\(error)"])
            return previous
        }
    }
}
