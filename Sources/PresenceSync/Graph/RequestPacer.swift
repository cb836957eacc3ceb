/// Keeps requests inside Graph's budget: at most `limit` requests start in any sliding window of `window`.
///
/// Graph allows 1,500 getPresencesByUserId requests per 30 s per app and tenant; pacing below that avoids the
/// 429s that would otherwise slow every batch. Callers `await acquire()` before each request (retries included,
/// so they count against the budget too).
///
/// Adaptive: when Graph throttles anyway (`throttled(for:)`), no request starts until its `Retry-After` has passed
/// and the budget is halved; each answered request then gives one request back, up to `limit`. So a 429 slows the
/// whole cycle, not only the request that got it. The decisions are `RequestBudget`'s (a value, tested on a
/// simulated clock); the actor only sleeps until they allow a start.
public actor RequestPacer {
    private var budget: RequestBudget
    /// Requests started (every `acquire` that returned).
    public private(set) var requests = 0
    /// Requests that had to wait for the budget or a throttling pause, for the cycle summary.
    public private(set) var waits = 0
    /// Times Graph throttled a request (429, or 503 with Retry-After).
    public private(set) var throttles = 0

    /// The pacer's counters at one moment; a cycle reports their growth.
    public struct Counts: Sendable {
        public var requests = 0
        public var waits = 0
        public var throttles = 0
    }

    /// The counters now.
    public var counts: Counts { Counts(requests: requests, waits: waits, throttles: throttles) }

    /// The budget in force: `limit`, or less after throttling.
    public var currentLimit: Int { budget.currentLimit }

    public init(limit: Int, window: Duration) {
        self.budget = RequestBudget(limit: limit, window: window)
    }

    /// Waits until one more request fits in the budget, then records it as started. Throws when cancelled.
    public func acquire() async throws {
        while true {
            guard let wakeUp = budget.start(at: .now) else {
                requests += 1
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
        budget.throttled(for: delay, answeredAt: answeredAt ?? .now)
    }

    /// A request was answered without throttling: one request of the budget comes back, up to `limit`.
    public func answered() {
        budget.answered()
    }
}

/// The pacer's rules as a value: which request may start when, given the starts so far and Graph's throttling.
struct RequestBudget: Sendable {
    let limit: Int
    let window: Duration
    /// Start times of the most recent requests, oldest first; never more than `limit` entries.
    private(set) var starts: [ContinuousClock.Instant] = []
    /// The budget in force: `limit`, or less after throttling.
    private(set) var currentLimit: Int
    /// No request starts before this (Graph's latest Retry-After, counted from its answer).
    private(set) var pausedUntil: ContinuousClock.Instant?

    init(limit: Int, window: Duration) {
        precondition(limit > 0)
        self.limit = limit
        self.currentLimit = limit
        self.window = window
    }

    /// Starts a request at `now` if the budget and any pause allow it (nil), else returns when to ask again.
    mutating func start(at now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        if let pausedUntil, pausedUntil > now { return pausedUntil }
        let window = window
        starts.removeAll { $0 + window <= now }
        // Every start left is inside the window, oldest first (see `earliestStart`).
        if starts.count >= currentLimit { return starts[starts.count - currentLimit] + window }
        starts.append(now)
        return nil
    }

    /// Graph throttled a request and asked for `delay` from `answeredAt`: pause everyone until then, halve the budget.
    mutating func throttled(for delay: Duration, answeredAt: ContinuousClock.Instant) {
        let until = answeredAt + delay
        if pausedUntil.map({ until > $0 }) ?? true { pausedUntil = until }
        currentLimit = max(1, currentLimit / 2)
    }

    /// One request of the budget comes back after an answer without throttling, up to `limit`.
    mutating func answered() {
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
