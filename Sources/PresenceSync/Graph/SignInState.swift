/// Whether the application can sign in: what ``AccessTokenProvider/signInState`` reports to health checks and
/// metrics.
public struct SignInState: Sendable, Equatable {
    /// Failed sign-ins in a row; 0 once a sign-in works (or before the first one).
    public var consecutiveFailures = 0
    /// The last sign-in's error while failing, nil otherwise.
    public var lastFailure: GraphError?
    /// When the next sign-in may be attempted (the end of the backoff), nil while not failing.
    public var nextAttemptAt: ContinuousClock.Instant?
    /// When a sign-in last worked, nil before the first.
    public var lastSuccess: ContinuousClock.Instant?

    public init(lastSuccess: ContinuousClock.Instant? = nil) {
        self.lastSuccess = lastSuccess
    }

    /// True while the last sign-in failed.
    public var isFailing: Bool { consecutiveFailures > 0 }

    /// The AADSTS code of the last failure, when Entra gave one.
    public var aadstsCode: Int? {
        guard let failure = lastFailure?.authenticationFailure else { return nil }
        return failure.aadstsCode
    }
}
