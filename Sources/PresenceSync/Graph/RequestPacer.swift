/// Keeps requests inside Graph's budget: at most `limit` requests start in any sliding window of `window`.
///
/// Graph allows 1,500 getPresencesByUserId requests per 30 s per app and tenant; pacing below that avoids the
/// 429s that would otherwise slow every batch. Callers `await acquire()` before each request (retries included,
/// so they count against the budget too).
///
/// Adaptive: when Graph throttles anyway (`throttled(for:)`), no request starts until its `Retry-After` has passed
/// and the budget is halved; each answered request then gives one request back, up to `limit`. So a 429 slows the
/// whole cycle, not only the request that got it.
public actor RequestPacer {
    private let limit: Int
    private let window: Duration
    /// Start times of the most recent requests, oldest first; never more than `limit` entries.
    private var starts: [ContinuousClock.Instant] = []
    /// Requests that had to wait for the budget or a throttling pause, for the cycle summary.
    public private(set) var waits = 0
    /// Times Graph throttled a request (429, or 503 with Retry-After).
    public private(set) var throttles = 0
    /// The budget in force: `limit`, or less after throttling.
    public private(set) var currentLimit: Int
    /// No request starts before this (Graph's latest Retry-After).
    private var pausedUntil: ContinuousClock.Instant?

    public init(limit: Int, window: Duration) {
        precondition(limit > 0)
        self.limit = limit
        self.currentLimit = limit
        self.window = window
    }

    /// Waits until one more request fits in the budget, then records it as started. Throws when cancelled.
    public func acquire() async throws {
        while true {
            let now = ContinuousClock.now
            if let pausedUntil, pausedUntil > now {
                waits += 1
                try await Task.sleep(until: pausedUntil, clock: .continuous)
                continue
            }
            starts.removeAll { $0 + window <= now }
            guard let wakeUp = Self.earliestStart(starts: starts, now: now, limit: currentLimit, window: window)
            else {
                starts.append(now)
                return
            }
            waits += 1
            try await Task.sleep(until: wakeUp, clock: .continuous)
        }
    }

    /// Graph throttled a request and asked for `delay`, counted from `answeredAt` (when the answer arrived; now if
    /// not given): nobody starts a request before it has passed, and the budget is halved (at least 1).
    public func throttled(for delay: Duration, answeredAt: ContinuousClock.Instant? = nil) {
        throttles += 1
        let until = (answeredAt ?? ContinuousClock.now) + delay
        if pausedUntil.map({ until > $0 }) ?? true { pausedUntil = until }
        currentLimit = max(1, currentLimit / 2)
    }

    /// A request was answered without throttling: one request of the budget comes back, up to `limit`.
    public func answered() {
        if currentLimit < limit { currentLimit += 1 }
    }

    /// When the next request may start: nil if now, else the instant the oldest counted request leaves the window.
    ///
    /// With `starts` the start times inside the window (oldest first): fewer than `limit` → nil; otherwise
    /// `starts[count - limit] + window`.
    static func earliestStart(
        starts: [ContinuousClock.Instant], now: ContinuousClock.Instant, limit: Int, window: Duration
    ) -> ContinuousClock.Instant? {
        let inWindow = starts.filter { $0 + window > now }
        guard inWindow.count >= limit else { return nil }
        return inWindow[inWindow.count - limit] + window
    }
}
