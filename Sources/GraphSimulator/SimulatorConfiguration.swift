/// How the simulator answers an id that is a well-formed GUID but names no user of the tenant.
///
/// Graph's own behaviour for unknown, deleted or guest ids is not documented, so the daemon must cope with all three.
public enum UnknownIDBehaviour: String, Sendable, Codable, CaseIterable {
    /// Leave the id out of `value`: the answer has fewer entries than the request.
    case omit
    /// Answer a presence with availability and activity `PresenceUnknown`, no sequence number and no details.
    case presenceUnknown
    /// Reject the whole request with a 400 `BadRequest` Graph error naming the first unknown id.
    case rejectRequest
}

/// Everything that shapes a simulated tenant: its address, users, credentials and how presence evolves.
///
/// Two simulators built from equal configurations serve the same user ids, the same initial states and, for the
/// same sequence of requests, the same answers (tokens and request ids aside).
public struct SimulatorConfiguration: Sendable {
    /// Interface to bind; the simulator is meant for loopback only.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 lets the kernel pick a free port, which ``GraphSimulator/start()`` returns.
    public var port: Int = 0
    /// Number of users in the tenant.
    public var userCount: Int = 100
    /// Each time a user is served, the chance that its presence changes (to a different state) just before.
    public var changeProbability: Double = 0.1
    /// Each time a user is served without a change, the chance that only its `sequenceNumber` grows.
    ///
    /// Such a serve is not a real change: every field but `sequenceNumber` stays as it was.
    public var sequenceOnlyProbability: Double = 0.0
    /// Seed of the simulator's own PRNG: user ids, initial states, changes and answer order all derive from it.
    public var seed: UInt64 = 42
    /// The only tenant the token endpoint knows; any other answers 400 `invalid_tenant` (AADSTS90002).
    public var tenantID: String = "00000000-0000-0000-0000-0000000051a1"
    /// The only application registered in the tenant; any other answers 400 `unauthorized_client` (AADSTS700016).
    public var clientID: String = "11111111-2222-3333-4444-555555555555"
    /// The application's client secret; any other answers 401 `invalid_client` (AADSTS7000215).
    public var clientSecret: String = "simulated-client-secret"
    /// PEM text of the certificates registered on the application (public parts only; a PEM may hold several).
    ///
    /// Client assertions signed with one of their keys (PS256 or RS256, thumbprint in `x5t#S256` or `x5t`) are
    /// accepted; with none registered every assertion answers 401 AADSTS700027, as for an app without certificates.
    public var clientCertificates: [String] = []
    /// How far a client assertion's `nbf` may lie in the future and its `exp` in the past (clock skew allowance).
    public var assertionClockSkewSeconds: Int = 60
    /// Seconds added to the real time when the token endpoint checks an assertion's `nbf` and `exp`: a client
    /// whose clock is wrong by more than the skew allowance is refused with AADSTS700024.
    public var clockOffsetSeconds: Double = 0
    /// Lifetime of issued access tokens; Graph rejects a token with 401 once it has passed.
    public var tokenLifetimeSeconds: Int = 3599
    /// How ids that name no user are answered.
    public var unknownIDBehaviour: UnknownIDBehaviour = .omit
    /// Answer presences in a (deterministically) shuffled order: Graph does not promise request order.
    public var shuffleResults: Bool = true
    /// Keep, per user, the list of distinct consecutive served states for ``GraphSimulator/servedStates(for:)`` and
    /// the runs of served states and omitted fields for ``GraphSimulator/servedAnswers(for:)``.
    ///
    /// Costs memory proportional to everything served; leave it off for benchmarks.
    public var recordServedStates: Bool = false
    /// Leave chosen fields out of some users' presence objects, as Graph's "might be shortened" answers do; nil
    /// (the default) serves complete objects. Can be changed while running with ``GraphSimulator/setShortening(_:)``
    /// or `PUT /_simulator/shortening`; never changes which states are served.
    public var shortening: AnswerShortening?
    /// Members per page of `/groups/{id}/transitiveMembers/microsoft.graph.user` when the client sends no `$top`
    /// (Graph's default is 100).
    public var groupPageSize: Int = 100
    /// Let presence evolve in (compressed) wall-clock time like a working day, whether or not users are served,
    /// and record when each change really happened; nil (the default) changes a user only when it is served, per
    /// `changeProbability`. With a workday, `changeProbability` is ignored; `sequenceOnlyProbability`, overrides and
    /// shortening apply as without.
    public var workday: WorkdaySimulation? = nil
    /// Log every request at `info` instead of `debug`.
    public var verbose: Bool = false

    /// A configuration with the defaults above: 100 users, 10% change chance, seed 42, loopback, any port.
    public init() {}
}
