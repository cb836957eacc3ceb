/// When to try a failed webhook request again, and when to give up: a pure function of the attempt, the answer
/// and the clock, so it is table-tested without a network.
///
/// Backoff doubles from `initial` up to `maximum`, with "equal jitter": the delay is half the backoff plus a
/// random share of the other half, so retries of many users spread out instead of arriving together. With
/// `initial` 2 s and `maximum` 600 s the delays before jitter are 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600,
/// ... seconds (after jitter: 1–2, 2–4, 4–8, ...). A `Retry-After` is never undercut. An event whose next try
/// would fall after its retry window (counted from its first attempt) becomes a dead letter instead.
public struct RetryPolicy: Sendable, Equatable {
    /// The delay before the first retry (before jitter).
    public var initial: Duration
    /// The cap on the doubling delay.
    public var maximum: Duration
    /// How long after its first attempt a request may still be retried.
    public var window: Duration

    public init(initial: Duration, maximum: Duration, window: Duration) {
        self.initial = initial
        self.maximum = maximum
        self.window = window
    }

    /// What the answer to one attempt means.
    public enum Outcome: Sendable, Equatable {
        /// 2xx: the receiver has the events.
        case delivered
        /// Worth trying again: a timeout, a connection error, 5xx, 429 (optionally with a `Retry-After`).
        case transient(reason: String, retryAfter: Duration?)
        /// 410 Gone: the receiver asks us to stop; the endpoint is disabled.
        case gone
        /// Any other 4xx (or a redirect): retrying cannot help; the request's events become dead letters.
        case permanent(reason: String)
    }

    /// What to do next.
    public enum Decision: Sendable, Equatable {
        case done
        /// Wait this long, then try the same request again (same webhook-id).
        case retry(after: Duration)
        case deadLetter(reason: String)
        case disableEndpoint
    }

    /// Classifies an HTTP status (nil: no answer) with its `Retry-After` in seconds.
    public static func outcome(status: Int?, retryAfterSeconds: Double?, transportError: String?) -> Outcome {
        guard let status else { return .transient(reason: transportError ?? "no answer", retryAfter: nil) }
        let retryAfter = retryAfterSeconds.map { Duration.milliseconds(Int64(max(0, $0) * 1000)) }
        switch status {
        case 200..<300: return .delivered
        case 410: return .gone
        case 408, 425, 429: return .transient(reason: "HTTP \(status)", retryAfter: status == 429 ? retryAfter : nil)
        case 500..<600: return .transient(reason: "HTTP \(status)", retryAfter: status == 503 ? retryAfter : nil)
        default: return .permanent(reason: "HTTP \(status)")
        }
    }

    /// The backoff before retry number `attempt` (1 for the first retry), before jitter.
    public func backoff(attempt: Int) -> Duration {
        Backoff(initial: initial, maximum: maximum).delay(attempt: attempt)
    }

    /// Decides after attempt number `attempt` (1 for the first try) ended with `outcome`.
    ///
    /// - Parameters:
    ///   - elapsed: time since the first attempt of this request.
    ///   - jitter: a number in 0...1 (random in the daemon, fixed in tests).
    public func decide(_ outcome: Outcome, attempt: Int, elapsed: Duration, jitter: Double) -> Decision {
        switch outcome {
        case .delivered:
            return .done
        case .gone:
            return .disableEndpoint
        case .permanent(let reason):
            return .deadLetter(reason: reason)
        case .transient(let reason, let retryAfter):
            let delay = Backoff(initial: initial, maximum: maximum)
                .wait(attempt: attempt, jitter: jitter, retryAfter: retryAfter)
            if elapsed + delay > window {
                return .deadLetter(reason: "\(reason); gave up after \(attempt) attempts")
            }
            return .retry(after: delay)
        }
    }
}
