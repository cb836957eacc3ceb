/// What to do after a getPresencesByUserId attempt failed: send it again after a delay, or skip the batch.
///
/// Retried: 429 (throttled), 500/502/503/504 and transport failures (connection refused, reset, timeout), at most
/// `maxAttempts` attempts in all. Not retried: other statuses, malformed answers (the same request would get the
/// same answer), sign-in failures (the token provider has its own backoff) and cancellation.
///
/// Delays: attempt n (1 for the first) failing waits `initial × 2^(n-1)`, capped at `maximum`, with jitter over
/// its upper half (with 1 s and 30 s: 0.5–1 s, 1–2 s, 2–4 s, 4–8 s ...). A `Retry-After` longer than that wins:
/// it is never undercut. A 429, or a 503 that carries `Retry-After`, is throttling: the caller slows the whole
/// cycle, not only this request.
public struct GraphRetryPolicy: Sendable, Equatable {
    public enum Decision: Sendable, Equatable {
        /// Send again after `delay`; `throttled` when Graph asked the whole application to slow down.
        case retry(after: Duration, throttled: Bool)
        /// Skip the batch for this cycle.
        case giveUp
    }

    /// Attempts in all, the first included.
    public var maxAttempts: Int
    public var initial: Duration
    public var maximum: Duration

    public init(maxAttempts: Int, initial: Duration, maximum: Duration) {
        self.maxAttempts = maxAttempts
        self.initial = initial
        self.maximum = maximum
    }

    /// The pause every request of the application takes after `error` when it is throttling (429, or 503 with
    /// Retry-After): its Retry-After, else as long as the retry `decision` waits (exponential backoff), else the
    /// first backoff step. Nil for any other error. Applies whether or not the batch retries: a batch that gives up
    /// on a 429 must not let the next batch start early.
    public func throttlingPause(for error: GraphError, after decision: Decision) -> Duration? {
        guard error.code == .status, let status = error.httpStatus,
            status == 429 || (status == 503 && error.retryAfterSeconds != nil)
        else { return nil }
        if let seconds = error.retryAfterSeconds { return .milliseconds(Int64((max(0, seconds) * 1000).rounded(.up))) }
        if case .retry(let delay, _) = decision { return delay }
        return initial
    }

    /// Decides after attempt `attempt` failed with `error`; `jitter` is in 0...1 (random in the daemon).
    public func decide(_ error: GraphError, attempt: Int, jitter: Double) -> Decision {
        let retryAfter: Double?
        let throttled: Bool
        if error.code == .transport {
            retryAfter = nil
            throttled = false
        } else if error.code == .status, let status = error.httpStatus,
            status == 429 || [500, 502, 503, 504].contains(status)
        {
            retryAfter = error.retryAfterSeconds
            throttled = status == 429 || (status == 503 && error.retryAfterSeconds != nil)
        } else {
            return .giveUp
        }
        guard attempt < maxAttempts else { return .giveUp }
        let asked = retryAfter.map { Duration.milliseconds(Int64((max(0, $0) * 1000).rounded(.up))) }
        let delay = Backoff(initial: initial, maximum: maximum).wait(
            attempt: attempt, jitter: jitter, retryAfter: asked)
        return .retry(after: delay, throttled: throttled)
    }
}
