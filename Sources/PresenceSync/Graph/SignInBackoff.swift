/// How long to wait before signing in again after failed sign-ins: a pure function of the number of failures in a
/// row and a jitter value, so it is table-tested without a network.
///
/// The doubling and the "equal jitter" are the shared ``Backoff``: with the standard 5 s initial delay and
/// 5 min cap the waits before jitter are 5, 10, 20, 40, 80, 160, 300, 300, ... seconds, and after jitter half of
/// that plus a random share of the other half (2.5–5 s, 5–10 s, ...), so that many daemons signing in to one
/// tenant spread out. A sign-in is never given up: the daemon keeps trying at the cap. A `Retry-After` from the
/// token endpoint is never undercut.
public struct SignInBackoff: Sendable, Equatable {
    /// Doubling and cap (no retry window: sign-in is never abandoned).
    public var backoff: Backoff

    public init(initial: Duration, maximum: Duration) {
        backoff = Backoff(initial: initial, maximum: maximum)
    }

    /// 5 s doubling to 5 min.
    public static let standard = SignInBackoff(initial: .seconds(5), maximum: .seconds(300))

    /// The wait after `failures` failed sign-ins in a row (1 for the first failure).
    ///
    /// - Parameters:
    ///   - jitter: a number in 0...1 (random in the daemon, fixed in tests).
    ///   - retryAfter: the token endpoint's `Retry-After`, if it sent one.
    public func delay(afterFailures failures: Int, jitter: Double, retryAfter: Duration? = nil) -> Duration {
        backoff.wait(attempt: max(1, failures), jitter: jitter, retryAfter: retryAfter)
    }
}
