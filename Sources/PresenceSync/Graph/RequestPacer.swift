/// Keeps requests inside Graph's budget: at most `limit` requests start in any sliding window of `window`.
///
/// Graph allows 1,500 getPresencesByUserId requests per 30 s per app and tenant; pacing below that avoids the
/// 429s that would otherwise slow every batch. Callers `await acquire()` before each request.
public actor RequestPacer {
    private let limit: Int
    private let window: Duration
    /// Start times of the most recent requests, oldest first; never more than `limit` entries.
    private var starts: [ContinuousClock.Instant] = []
    /// Requests that had to wait for the budget, for the cycle summary.
    public private(set) var waits = 0

    public init(limit: Int, window: Duration) {
        precondition(limit > 0)
        self.limit = limit
        self.window = window
    }

    /// Waits until one more request fits in the budget, then records it as started. Throws when cancelled.
    public func acquire() async throws {
        while true {
            let now = ContinuousClock.now
            starts.removeAll { $0 + window <= now }
            guard let wakeUp = Self.earliestStart(starts: starts, now: now, limit: limit, window: window) else {
                starts.append(now)
                return
            }
            waits += 1
            try await Task.sleep(until: wakeUp, clock: .continuous)
        }
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
