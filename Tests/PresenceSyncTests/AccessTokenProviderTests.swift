import GraphSimulator
import Logging
import PresenceSync
import TestSupport
import Testing

@Suite("Signing in: tokens cached, refreshed early, one sign-in at a time, failures explained")
struct AccessTokenProviderTests {
    /// One HTTP client for the whole suite: AsyncHTTPClient insists on an explicit shutdown before release.
    static let http = GraphHTTP(connectTimeoutSeconds: 5, requestTimeoutSeconds: 5)

    static func provider(
        _ simulator: GraphSimulator, _ settings: SimulatorConfiguration, tenant: String? = nil, secret: String? = nil
    ) throws -> AccessTokenProvider {
        let configuration = try SimulatorSetup.configuration(
            SimulatorSetup.document(for: simulator, settings: settings, database: "/unused.db"))
        return AccessTokenProvider(
            tenantID: tenant ?? settings.tenantID, clientID: settings.clientID, credential: configuration.credential,
            endpoints: configuration.endpoints, http: http, logger: Logger(label: "test"),
            environment: [SimulatorSetup.secretVariable: secret ?? settings.clientSecret])
    }

    static func simulator(tokenLifetime: Int = 3599) async throws -> (GraphSimulator, SimulatorConfiguration) {
        var settings = SimulatorConfiguration()
        settings.userCount = 1
        settings.tokenLifetimeSeconds = tokenLifetime
        let simulator = GraphSimulator(configuration: settings)
        _ = try await simulator.start()
        return (simulator, settings)
    }

    @Test("twenty concurrent callers share a single sign-in, and later callers get the cached token")
    func singleFlight() async throws {
        let (simulator, settings) = try await Self.simulator()
        defer { Task { await simulator.stop() } }
        let tokens = try Self.provider(simulator, settings)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { _ = try await tokens.token() } }
            try await group.waitForAll()
        }
        _ = try await tokens.token()
        #expect(simulator.statistics.tokenRequests == 1)
        #expect(await tokens.signIns == 1)
    }

    @Test("a token is refreshed before it expires (at half its life when the life is short)")
    func refreshBeforeExpiry() async throws {
        // Six seconds (refresh after three): with two, a loaded machine sometimes took the refresh point to sign in.
        let (simulator, settings) = try await Self.simulator(tokenLifetime: 6)
        defer { Task { await simulator.stop() } }
        let tokens = try Self.provider(simulator, settings)
        let first = try await tokens.token()
        _ = try await tokens.token()
        #expect(simulator.statistics.tokenRequests == 1)
        try await Task.sleep(for: .milliseconds(3_100))
        let second = try await tokens.token()
        #expect(simulator.statistics.tokenRequests == 2)
        #expect(second.expiresAt > first.expiresAt)
        #expect(!"\(second)".contains("redacted") == false, "a token's description must not show the token")
    }

    @Test("an invalidated token is replaced on the next call")
    func invalidate() async throws {
        let (simulator, settings) = try await Self.simulator()
        defer { Task { await simulator.stop() } }
        let tokens = try Self.provider(simulator, settings)
        let first = try await tokens.token()
        await tokens.invalidate(first)
        _ = try await tokens.token()
        #expect(simulator.statistics.tokenRequests == 2)
    }

    @Test(
        "Entra's refusals come back with their AADSTS code and a hint, never the secret",
        arguments: [
            (nil as String?, "wrong-secret-value" as String?, 7_000_215, "Secret ID"),
            ("00000000-0000-0000-0000-00000000beef", nil, 90_002, "tenant was not found"),
        ]
    )
    func refusals(tenant: String?, secret: String?, code: Int, hint: String) async throws {
        let (simulator, settings) = try await Self.simulator()
        defer { Task { await simulator.stop() } }
        let tokens = try Self.provider(simulator, settings, tenant: tenant, secret: secret)
        do {
            _ = try await tokens.token()
            Issue.record("sign-in must fail")
        } catch {
            guard let failure = error.authenticationFailure else {
                Issue.record("expected an authentication error, got \(error)")
                return
            }
            #expect(failure.aadstsCode == code)
            #expect(error.description.contains("AADSTS\(code)"))
            #expect(error.description.contains(hint))
            #expect(!error.description.contains("wrong-secret-value"))
        }
    }
}
