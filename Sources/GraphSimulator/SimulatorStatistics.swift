/// Counters of everything the simulator has answered since it was created.
public struct SimulatorStatistics: Sendable, Codable, Equatable {
    /// Requests to the token endpoint, successful or not.
    public var tokenRequests: Int = 0
    /// Access tokens issued.
    public var tokensIssued: Int = 0
    /// Client assertions whose signature, thumbprint, audience, issuer and times were verified and accepted.
    public var clientAssertionsAccepted: Int = 0
    /// The `alg` of the last accepted client assertion (PS256 or RS256).
    public var lastClientAssertionAlgorithm: String?
    /// Requests to getPresencesByUserId, whatever their outcome.
    public var presenceRequests: Int = 0
    /// Presence objects served in 200 answers (unknown-id placeholders included).
    public var usersServed: Int = 0
    /// Served presences whose content changed just before being served.
    public var changesServed: Int = 0
    /// Served presences whose `sequenceNumber` alone grew just before being served.
    public var sequenceOnlyChangesServed: Int = 0
    /// Presence objects counted in `usersServed` that left fields out (see ``AnswerShortening``).
    public var shortenedObjectsServed: Int = 0
    /// Presence and token requests answered by an injected fault.
    public var faultsServed: Int = 0
    /// Requests refused with a 4xx by validation (bad token, bad body, bad credentials), faults excluded.
    public var rejectedRequests: Int = 0

    /// All counters zero.
    public init() {}
}
