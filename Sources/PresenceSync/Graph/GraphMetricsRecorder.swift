/// Where the Graph client and the token provider report what the metrics endpoint shows.
///
/// Called once per request or sign-in (never per user), so an implementation may take a lock but must not block.
public protocol GraphMetricsRecorder: Sendable {
    /// A getPresencesByUserId request was answered with `status` after `latency` (send to last byte).
    func presenceBatchAnswered(status: Int, latency: Duration)
    /// A getPresencesByUserId request failed without an answer (connection, timeout).
    func presenceBatchFailed(latency: Duration)
    /// A sign-in at the token endpoint finished.
    func signInFinished(succeeded: Bool)
    /// The token provider's sign-in state after a sign-in finished (failing or not, the AADSTS code).
    func signInStateChanged(_ state: SignInState)
}

extension GraphMetricsRecorder {
    /// Recorders that only count sign-ins ignore the state.
    public func signInStateChanged(_ state: SignInState) {}
}
