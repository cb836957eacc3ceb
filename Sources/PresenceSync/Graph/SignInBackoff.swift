/// How long to wait before signing in again after failed sign-ins: a pure function of the number of failures in a
/// row and a jitter value, so it is table-tested without a network.
///
/// The doubling and the "equal jitter" are the webhook ``RetryPolicy``'s: with the standard 5 s initial delay and
/// 5 min cap the waits before jitter are 5, 10, 20, 40, 80, 160, 300, 300, ... seconds, and after jitter half of
/// that plus a random share of the other half (2.5–5 s, 5–10 s, ...), so that many daemons signing in to one
/// tenant spread out. A sign-in is never given up: the daemon keeps trying at the cap. A `Retry-After` from the
/// token endpoint is never undercut.
public struct SignInBackoff: Sendable, Equatable {
    /// Doubling and cap; its retry window is unbounded (sign-in is never abandoned).
    public var policy: RetryPolicy

    public init(initial: Duration, maximum: Duration) {
        // The window is far beyond any uptime: `RetryPolicy.decide` never turns a sign-in into a dead letter.
        policy = RetryPolicy(initial: initial, maximum: maximum, window: .seconds(Int64(Int32.max)))
    }

    /// 5 s doubling to 5 min.
    public static let standard = SignInBackoff(initial: .seconds(5), maximum: .seconds(300))

    /// The wait after `failures` failed sign-ins in a row (1 for the first failure).
    ///
    /// - Parameters:
    ///   - jitter: a number in 0...1 (random in the daemon, fixed in tests).
    ///   - retryAfter: the token endpoint's `Retry-After`, if it sent one.
    public func delay(afterFailures failures: Int, jitter: Double, retryAfter: Duration? = nil) -> Duration {
        let decision = policy.decide(
            .transient(reason: "sign-in failed", retryAfter: retryAfter), attempt: max(1, failures), elapsed: .zero,
            jitter: jitter)
        if case .retry(let delay) = decision { return delay }
        return policy.maximum
    }
}
