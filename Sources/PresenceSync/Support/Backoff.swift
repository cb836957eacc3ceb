/// Exponential backoff with "equal jitter", shared by Graph retries and webhook retries.
///
/// The delay before retry n (1 for the first) doubles from `initial` up to `maximum`; the jittered delay is half
/// of it plus a random share (`jitter` in 0...1) of the other half, so many retries spread out instead of arriving
/// together. A `Retry-After` longer than the jittered delay replaces it: it is never undercut.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// `initial × 2^(attempt-1)`, capped at `maximum` (before jitter).
    public func delay(attempt: Int) -> Duration {
        var delay = initial
        for _ in 1..<max(1, attempt) {
            delay *= 2
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }

    /// The delay to wait after attempt `attempt` failed: jittered, and at least `retryAfter` when given.
    public func wait(attempt: Int, jitter: Double, retryAfter: Duration?) -> Duration {
        let backoff = delay(attempt: attempt)
        let jittered = backoff / 2 + (backoff / 2) * min(1, max(0, jitter))
        guard let retryAfter, retryAfter > jittered else { return jittered }
        return retryAfter
    }
}
