import HTTPHosting
import Hummingbird
import Logging
import Synchronization

/// A simulated Microsoft Entra + Graph tenant: a real loopback HTTP server answering the client-credentials token
/// endpoint and `getPresencesByUserId` exactly as the production code path expects.
///
/// ```swift
/// let simulator = GraphSimulator(configuration: SimulatorConfiguration())
/// _ = try await simulator.start()   // the daemon's authority host and Graph host are both simulator.baseURL
/// ...                               // point the daemon at it, inject faults, compare servedStates(for:)
/// await simulator.stop()
/// ```
///
/// Routes (paths are matched case-insensitively, as Graph does):
/// - `POST /{tenant}/oauth2/v2.0/token`: see `TokenEndpoint`.
/// - `POST /v1.0/communications/getPresencesByUserId`: see `PresenceEndpoint`.
/// - `POST /v1.0/$batch`, `GET /v1.0/groups/{id}/transitiveMembers/microsoft.graph.user`: see `DirectoryEndpoints`.
/// - `/_simulator/...`: control endpoints for out-of-process tools (users, statistics, faults, served states and
///   answers, current presence, token revocation, answer shortening); see `ControlEndpoints`.
///
/// The tenant (users and their states) is built in `init` and survives `stop()`/`start()`.
public final class GraphSimulator: Sendable {
    private enum ServerState {
        case idle
        case starting
        case running(HostedServer)
    }

    /// How long `stop()` lets in-flight requests (a delay fault, say) finish before cancelling them.
    private static let shutdownGracePeriod = Duration.seconds(2)

    /// The configuration the simulator was created with.
    public let configuration: SimulatorConfiguration
    private let logger: Logger
    /// Shared with the extensions in other files (the workday API); nothing outside the module sees it.
    let tenant: SimulatedTenant
    private let server = Mutex(ServerState.idle)
    /// Every getPresencesByUserId request: when it arrived and how it was answered (tests check pacing with it).
    private let presenceRequestLog = PresenceRequestLog()

    /// Creates the tenant without binding anything. Instant for any user count: ids are computed, not stored, and
    /// each user gets its deterministic initial state when first touched.
    public init(configuration: SimulatorConfiguration, logger: Logger = Logger(label: "GraphSimulator")) {
        self.configuration = configuration
        self.logger = logger
        self.tenant = SimulatedTenant(configuration: configuration)
    }

    /// Binds `host:port`, serves in the background and returns the bound port once the socket is listening.
    ///
    /// Returns the current port if already running. Throws ``GraphSimulatorError`` if binding fails.
    public func start() async throws -> Int {
        let alreadyRunning: Int? = try server.withLock { state in
            switch state {
            case .running(let hosted): return hosted.port
            case .starting: throw GraphSimulatorError(message: "start() called while the simulator is starting")
            case .idle:
                state = .starting
                return nil
            }
        }
        if let alreadyRunning { return alreadyRunning }

        let hosted: HostedServer
        do {
            hosted = try await HostedServer.start(
                router: try makeRouter(), host: configuration.host, port: configuration.port, logger: logger)
        } catch {
            server.withLock { $0 = .idle }
            if error is HostedServerError { throw GraphSimulatorError(message: "\(error)") }
            throw error
        }
        server.withLock { $0 = .running(hosted) }
        logger.debug(
            "Graph simulator listening", metadata: ["port": "\(hosted.port)", "users": "\(tenant.directory.count)"])
        return hosted.port
    }

    /// Stops serving and waits until the listening socket and all connections are closed. Idempotent.
    ///
    /// Shuts down gracefully: stops accepting, closes idle keep-alive connections and lets requests in flight finish
    /// for up to two seconds, then cancels whatever is left.
    public func stop() async {
        let running: HostedServer? = server.withLock { state in
            guard case .running(let hosted) = state else { return nil }
            state = .idle
            return hosted
        }
        await running?.stop(gracePeriod: Self.shutdownGracePeriod)
    }

    /// The bound port while running, nil otherwise.
    public var port: Int? {
        server.withLock { state in
            if case .running(let hosted) = state { return hosted.port }
            return nil
        }
    }

    /// `http://HOST:PORT`, used as both the Entra authority host and the Graph host (the configured port before
    /// `start()`).
    public var baseURL: String {
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return "http://\(host):\(port ?? configuration.port)"
    }

    /// The tenant's user object ids (lower-case GUID text), in a fixed order determined by the seed.
    ///
    /// Built on first access (about 0.1 s for 100,000 users in a debug build) and cached: reading it again is cheap.
    public var userIDs: [String] {
        tenant.directory.ids
    }

    /// The object id of user `index` in a tenant with `seed`, without building the tenant.
    public static func userID(index: Int, seed: UInt64) -> String {
        String(decoding: UserDirectory.idBytes(index: index, seed: seed), as: UTF8.self)
    }

    /// The deterministic user principal name of a user (`user00042@simulated.example` for index 42), nil for an
    /// unknown id. `GET /v1.0/users/{upn}` resolves it back to the id.
    public func userPrincipalName(for userID: String) -> String? {
        tenant.directory.index(of: userID).map(UserDirectory.userPrincipalName(index:))
    }

    /// Requests to the single-user endpoints (directory lookups, presence reads and writes) so far; with
    /// `statistics.tokenRequests` it tells tests that a command sent nothing at all.
    public var presenceAPIRequests: Int {
        tenant.overrides.requests
    }

    /// Queues faults for the next presence requests, one per request, first in first out.
    public func inject(_ faults: [SimulatedFault]) {
        tenant.enqueue(faults)
    }

    /// The distinct consecutive states served for a user, oldest first; empty for an unknown user or when
    /// `recordServedStates` is off. A sequence-only bump counts as distinct (compare with `hasSameContent(as:)`).
    public func servedStates(for userID: String) -> [SimulatedPresence] {
        guard let index = tenant.directory.index(of: userID) else { return [] }
        return tenant.servedStates(index: index).map(\.simulatedPresence)
    }

    /// The runs of consecutive batch serves of a user, oldest first, each with the full state served and the fields
    /// left out of it (see ``ServedAnswer``); empty for an unknown user or when `recordServedStates` is off.
    ///
    /// Collapsing the runs' presences to distinct consecutive values gives ``servedStates(for:)``. Single-user
    /// presence reads are shortened alike but, like them in ``servedStates(for:)``, not recorded.
    public func servedAnswers(for userID: String) -> [ServedAnswer] {
        guard let index = tenant.directory.index(of: userID) else { return [] }
        return tenant.servedRuns(index: index).map(\.servedAnswer)
    }

    /// The shortening in force (initially ``SimulatorConfiguration/shortening``), nil when answers are complete.
    public var shortening: AnswerShortening? {
        tenant.shortening
    }

    /// Puts `shortening` in force from the next serve on; nil serves complete objects again. Which states are
    /// served is unaffected. Throws, changing nothing, when ``AnswerShortening/validate()`` does.
    public func setShortening(_ shortening: AnswerShortening?) throws(GraphSimulatorError) {
        try shortening?.validate()
        tenant.setShortening(shortening)
    }

    /// True when the shortening in force may shorten this user's objects; false for an unknown user or without one.
    public func isAffectedByShortening(_ userID: String) -> Bool {
        guard let index = tenant.directory.index(of: userID) else { return false }
        return tenant.isAffectedByShortening(index: index)
    }

    /// The user's current state (what the next serve shows unless it changes first); nil for an unknown user.
    public func currentState(for userID: String) -> SimulatedPresence? {
        tenant.directory.index(of: userID).map { tenant.currentState(index: $0).simulatedPresence }
    }

    /// Makes the next `count` token requests fail with `status` (an Entra outage: a body that is no error
    /// document, and `Retry-After` when given), whatever their credentials; then normal service resumes.
    public func failTokenRequests(count: Int, status: Int = 503, retryAfterSeconds: Int? = nil) {
        tenant.enqueueTokenFaults(count: count, status: status, retryAfterSeconds: retryAfterSeconds)
    }

    /// Makes every token issued so far fail with 401 from now on; new tokens work.
    public func revokeTokens() {
        tenant.revokeTokens()
    }

    /// Every getPresencesByUserId request answered so far, in the order they were answered.
    public var presenceRequests: [PresenceRequestRecord] {
        presenceRequestLog.records.withLock { $0 }
    }

    /// Counters of everything served so far.
    public var statistics: SimulatorStatistics {
        tenant.statistics
    }

    // MARK: Directory

    /// Defines or redefines a group: user members by object id and nested groups by group id (flattened, each user
    /// once, by `/groups/{id}/transitiveMembers/microsoft.graph.user`). Takes effect for the next page served.
    public func setGroup(_ groupID: String, members: [String], groups: [String] = []) {
        tenant.groups.set(groupID, members: members, groups: groups)
    }

    /// Removes a group: it answers 404 `Request_ResourceNotFound` from then on.
    public func removeGroup(_ groupID: String) {
        tenant.groups.remove(groupID)
    }

    /// Queues faults for the next directory requests (`$batch`, group member pages), one per request, first in
    /// first out; presence requests never consume them. `status`, `invalidToken` and `delay` behave as for
    /// presence requests; the malformed kinds answer 200 with an HTML page.
    public func injectDirectoryFaults(_ faults: [SimulatedFault]) {
        tenant.groups.enqueue(faults)
    }

    /// Makes the next `count` requests inside `$batch` bodies answer 429 `TooManyRequests` with `Retry-After`.
    public func throttleBatchItems(_ count: Int, retryAfterSeconds: Int) {
        tenant.groups.throttleItems(count, retryAfterSeconds: retryAfterSeconds)
    }

    /// Counters of the directory endpoints.
    public var directoryStatistics: DirectoryStatistics {
        tenant.groups.statistics
    }

    private func makeRouter() throws(GraphSimulatorError) -> Router<BasicRequestContext> {
        let router = Router(options: .caseInsensitive)
        router.add(middleware: LogRequestsMiddleware(configuration.verbose ? .info : .debug))
        let token = try TokenEndpoint(tenant: tenant)
        router.post(":tenant/oauth2/v2.0/token") { request, context in
            await token.respond(to: request, context: context)
        }
        let presence = PresenceEndpoint(tenant: tenant, json: PresenceJSON(), logger: logger)
        let log = presenceRequestLog
        router.post("v1.0/communications/getPresencesByUserId") { request, context in
            let arrived = ContinuousClock.now
            let response = try await presence.respond(to: request, context: context)
            log.records.withLock {
                $0.append(PresenceRequestRecord(arrivedAt: arrived, status: Int(response.status.code)))
            }
            return response
        }
        ControlEndpoints(tenant: tenant).register(on: router)
        DirectoryEndpoints(tenant: tenant).register(on: router)
        PresenceAPIEndpoints(tenant: tenant).register(on: router)
        return router
    }
}

/// One getPresencesByUserId request as the simulator saw it.
public struct PresenceRequestRecord: Sendable {
    /// When the request arrived (before any delay fault).
    public var arrivedAt: ContinuousClock.Instant
    /// The status it was answered with.
    public var status: Int
}

/// The simulator's record of presence requests, shared by reference with the route handler.
final class PresenceRequestLog: Sendable {
    let records = Mutex<[PresenceRequestRecord]>([])
}

/// Why the simulator could not do what was asked (start, or accept an ``AnswerShortening``).
public struct GraphSimulatorError: Error, CustomStringConvertible, Sendable {
    /// What failed and why.
    public var message: String

    /// The message.
    public var description: String { message }
}
