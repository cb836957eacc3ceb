import Logging

/// Snapshots and replays (`outbox_backfills`) through an endpoint's lanes.
///
/// A snapshot holds the live events back until each of its events has left (a consumer must see a user's state
/// before that user's changes); the endpoint's cursor stays at the snapshot's history id meanwhile. A replay is
/// read a page at a time into the same lanes as the live events, so the live events wait at most for the pages in
/// flight, never for the whole replay. Other endpoints have lanes and cursors of their own and never wait. The
/// position is recorded once a page has completely left, so a restart resends at most the pages in flight, with
/// the same ids.
extension WebhookDispatcher {
    /// Backfill events read per page.
    static let backfillPageSize = 2_000
    /// Backfill events in the lanes at most: like the live window, a few pages whatever the size of the backfill.
    static let backfillWindow = 5_000
    /// How often an endpoint looks for a replay an operator requested while it runs.
    static let backfillRecheck = Duration.seconds(1)

    /// Sends the endpoint's backfills one after another, then looks for new ones every `backfillRecheck`, until
    /// cancelled or the endpoint is disabled. Opens the live events' gate whenever no snapshot is pending.
    func runBackfills(into lanes: [DeliveryLane]) async {
        while !Task.isCancelled && !disabled.withLock({ $0 }) {
            let pending: OutboxBackfill?
            do {
                pending = try await store.outboxBackfill(sink: name)
            } catch {
                logger.error("cannot read the endpoint's snapshot or replay", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: Self.backfillRecheck)
                continue
            }
            guard let pending else {
                liveHeldBack.withLock { $0 = false }
                try? await Task.sleep(for: Self.backfillRecheck)
                continue
            }
            liveHeldBack.withLock { $0 = pending.kind == .snapshot }
            await send(pending, into: lanes)
        }
    }

    /// Streams one backfill through the lanes from its recorded position, recording progress as pages complete.
    private func send(_ pending: OutboxBackfill, into lanes: [DeliveryLane]) async {
        logger.notice(
            "sending \(pending.kind.rawValue) events",
            metadata: [
                "through_history_id": "\(pending.through)", "total": "\(pending.total)",
                "resumes_after": "\(pending.position)",
            ])
        var position = pending.position
        var finished = false
        var done = false
        while !finished && !Task.isCancelled && !disabled.withLock({ $0 }) {
            if await recordProgress(pending) { done = true }
            if backfill.inFlight > Self.backfillWindow - Self.backfillPageSize {
                await backfill.wake.wait(timeout: .milliseconds(50))
                continue
            }
            let page: BackfillPage
            do {
                page = try await store.backfillPage(pending, after: position, limit: Self.backfillPageSize)
            } catch {
                logger.error("reading the \(pending.kind.rawValue) failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            backfill.add(page)
            var split = Array(repeating: [ChangeRecord](), count: lanes.count)
            for record in page.records {
                split[DeliveryLane.index(of: record.userID, lanes: lanes.count)].append(record)
            }
            for (lane, records) in zip(lanes, split) where !records.isEmpty { lane.append(records) }
            position = page.position
            finished = page.finished
        }
        while backfill.inFlight > 0 && !Task.isCancelled && !disabled.withLock({ $0 }) {
            if await recordProgress(pending) { done = true }
            await backfill.wake.wait(timeout: .milliseconds(50))
        }
        if await recordProgress(pending) || done {
            logger.notice("\(pending.kind.rawValue) sent", metadata: ["total": "\(pending.total)"])
        }
    }

    /// Records the position of the pages that have completely left; returns true when that finished the backfill.
    @discardableResult
    private func recordProgress(_ pending: OutboxBackfill) async -> Bool {
        guard let (position, finished) = backfill.takeCompleted() else { return false }
        do {
            try await store.advanceBackfill(pending, to: position, finished: finished)
            if finished && pending.kind == .snapshot { liveHeldBack.withLock { $0 = false } }
            return finished
        } catch {
            logger.error("cannot record the \(pending.kind.rawValue) progress", metadata: ["error": "\(error)"])
            return false
        }
    }
}
