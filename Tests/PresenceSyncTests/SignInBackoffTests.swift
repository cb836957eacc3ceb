import Foundation
import GraphSimulator
import InMemoryLogging
import Logging
import PresenceSync
import TestSupport
import Testing

@Suite("Sign-in backoff: a failing sign-in is retried later, callers fail fast in between")
struct SignInBackoffTests {
    static let http = GraphHTTP(connectTimeoutSeconds: 2, requestTimeoutSeconds: 5)
    /// For a token endpoint that is down: AsyncHTTPClient keeps retrying a refused connection until the connect
    /// timeout, so keep that short. The request timeout is not what these tests wait for (a refused connection ends
    /// at the connect timeout): long enough for a running simulator on a machine busy with the rest of the suite.
    /// Never shut down, like `http`: a client released unshut traps in debug builds.
    static let shortConnectHTTP = GraphHTTP(connectTimeoutSeconds: 0.3, requestTimeoutSeconds: 10)

    @Test(
        "the standard backoff doubles from 5 s to a 5 min cap, with equal jitter",
        arguments: [
            // (failures in a row, jitter, expected milliseconds)
            (1, 0.0, 2_500), (1, 1.0, 5_000), (1, 0.5, 3_750),
            (2, 1.0, 10_000), (3, 1.0, 20_000), (4, 1.0, 40_000), (5, 1.0, 80_000), (6, 1.0, 160_000),
            (7, 1.0, 300_000), (7, 0.0, 150_000), (8, 1.0, 300_000), (1_000, 1.0, 300_000),
            // Out-of-range inputs are clamped: no failure counts as one, jitter stays within 0...1.
            (0, 1.0, 5_000), (1, 7.0, 5_000), (1, -3.0, 2_500),
        ] as [(Int, Double, Int64)])
    func delays(failures: Int, jitter: Double, milliseconds: Int64) {
        #expect(SignInBackoff.standard.delay(afterFailures: failures, jitter: jitter) == .milliseconds(milliseconds))
    }

    @Test("a Retry-After from the token endpoint is never undercut, but does not shorten a longer backoff")
    func retryAfter() {
        let backoff = SignInBackoff.standard
        #expect(backoff.delay(afterFailures: 1, jitter: 1, retryAfter: .seconds(30)) == .seconds(30))
        #expect(backoff.delay(afterFailures: 5, jitter: 1, retryAfter: .seconds(30)) == .seconds(80))
    }

    static func simulator() async throws -> (GraphSimulator, SimulatorConfiguration) {
        var settings = SimulatorConfiguration()
        settings.userCount = 1
        let simulator = GraphSimulator(configuration: settings)
        _ = try await simulator.start()
        return (simulator, settings)
    }

    static func provider(
        _ simulator: GraphSimulator, _ settings: SimulatorConfiguration, secretFile: String, logs: InMemoryLogHandler,
        backoff: SignInBackoff, http: GraphHTTP = http, clock: SteppedClock = SteppedClock()
    ) throws -> AccessTokenProvider {
        var document = SimulatorSetup.document(for: simulator, settings: settings, database: "/unused.db")
        document["credential"] = ["file": secretFile]
        let configuration = try SimulatorSetup.configuration(document)
        var logger = Logger(label: "test") { _ in logs }
        logger.logLevel = .debug
        return AccessTokenProvider(
            tenantID: configuration.tenantID, clientID: configuration.clientID, credential: configuration.credential,
            endpoints: configuration.endpoints, http: http, logger: logger, environment: [:], backoff: backoff,
            now: { clock.now() })
    }

    @Test("a wrong secret: failing calls send no request within the backoff, one error line, a fixed secret is used")
    func wrongSecretBacksOff() async throws {
        let (simulator, settings) = try await Self.simulator()
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let secretFile = directory.write("secret", "wrong-secret-value\n")
        let logs = InMemoryLogHandler()
        let tokens = try Self.provider(
            simulator, settings, secretFile: secretFile, logs: logs,
            backoff: SignInBackoff(initial: .seconds(1), maximum: .seconds(2)))
        await #expect(throws: GraphError.self) { _ = try await tokens.token() }
        // Within the backoff (at least 0.5 s after the first failure) a call fails at once, without a request.
        await #expect(throws: GraphError.self) { _ = try await tokens.token() }
        #expect(simulator.statistics.tokenRequests == 1)
        var failures = 2
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline {
            do {
                _ = try await tokens.token()
            } catch {
                failures += 1
                #expect(error.description.contains("AADSTS7000215"))
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        // Without a backoff every call would sign in; with it: at 0 s, after at least 0.5 s, after at least 1 s more.
        let requests = simulator.statistics.tokenRequests
        #expect(requests >= 1 && requests <= 3, "token requests: \(requests) for \(failures) failed calls")
        let state = await tokens.signInState
        #expect(state.isFailing)
        #expect(state.aadstsCode == 7_000_215)
        #expect(state.consecutiveFailures == requests)
        #expect(logs.entries.filter { $0.level == .error }.count == 1, "one error line per streak")
        let errorLine = try #require(logs.entries.first { $0.level == .error })
        let errorText = "\(errorLine.message) \(errorLine.metadata)"
        #expect(errorText.contains("not its Secret ID"))

        // The operator fixes the secret file; the first attempt after the backoff succeeds.
        directory.write("secret", settings.clientSecret + "\n")
        let next = try #require(state.nextAttemptAt)
        try await Task.sleep(until: next + .milliseconds(20), clock: .continuous)
        _ = try await tokens.token()
        #expect(await tokens.signInState.isFailing == false)
        #expect(logs.entries.contains { $0.message.description == "signed in again" })
        let text = logs.entries.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(!text.contains("wrong-secret-value"))
        #expect(!text.contains(settings.clientSecret))
    }

    @Test("an unreachable token endpoint is retried with backoff, not on every call")
    func endpointDown() async throws {
        let (simulator, settings) = try await Self.simulator()
        let directory = TemporaryDirectory()
        let secretFile = directory.write("secret", settings.clientSecret)
        let logs = InMemoryLogHandler()
        let http = Self.shortConnectHTTP
        let tokens = try Self.provider(
            simulator, settings, secretFile: secretFile, logs: logs,
            backoff: SignInBackoff(initial: .seconds(1), maximum: .seconds(2)), http: http)
        await simulator.stop()
        var failures = 0
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline {
            do {
                _ = try await tokens.token()
            } catch {
                failures += 1
                guard error.code == .transport else {
                    Issue.record("expected a transport error, got \(error)")
                    break
                }
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        // On a loaded machine one attempt can fill the whole window (its connect waits), and the backoff it started
        // may have run out by the next call; a call right after an attempt falls inside that attempt's backoff, so
        // it must fail without another attempt. (At most two more calls: the attempts bound below still holds.)
        var extraCalls = 0
        while failures <= (await tokens.signInAttempts) && extraCalls < 2 {
            extraCalls += 1
            do {
                _ = try await tokens.token()
            } catch {
                failures += 1
            }
        }
        let attempts = await tokens.signInAttempts
        // Attempts at 0 s, then after at least 0.5 s and 1 s of backoff: at most 3; every other call failed fast.
        #expect(failures > attempts)
        #expect(attempts >= 1 && attempts <= 3, "sign-in attempts: \(attempts)")
        let errors = logs.entries.filter { $0.level == .error }
        #expect(errors.count == 1)
        let errorText = errors.map { "\($0.message) \($0.metadata)" }.joined()
        #expect(errorText.contains("cannot be reached"))
        #expect(await tokens.signInState.isFailing)
    }

    @Test("a token endpoint answering 503 with Retry-After: no request before that time, then sign-in works")
    func serverError() async throws {
        let (simulator, settings) = try await Self.simulator()
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let secretFile = directory.write("secret", settings.clientSecret)
        let logs = InMemoryLogHandler()
        let clock = SteppedClock()
        let tokens = try Self.provider(
            simulator, settings, secretFile: secretFile, logs: logs,
            backoff: SignInBackoff(initial: .milliseconds(100), maximum: .milliseconds(200)), clock: clock)
        simulator.failTokenRequests(count: 1, status: 503, retryAfterSeconds: 1)
        let before = clock.now()
        do {
            _ = try await tokens.token()
            Issue.record("sign-in must fail")
        } catch {
            #expect(error.description.contains("HTTP 503"))
            #expect(error.description.contains("the token endpoint is failing"))
        }
        await #expect(throws: GraphError.self) { _ = try await tokens.token() }
        #expect(simulator.statistics.tokenRequests == 1, "no request within the Retry-After")
        let next = try #require(await tokens.signInState.nextAttemptAt)
        #expect(next - before >= .seconds(1), "Retry-After 1 s wins over the 50–100 ms backoff")
        clock.step(by: next - clock.now() - .milliseconds(50))
        await #expect(throws: GraphError.self, "50 ms before the Retry-After: still no request") {
            _ = try await tokens.token()
        }
        #expect(simulator.statistics.tokenRequests == 1)
        clock.step(by: .milliseconds(70))
        _ = try await tokens.token()
        #expect(simulator.statistics.tokenRequests == 2)
        #expect(await tokens.signInState.isFailing == false)
        #expect(logs.entries.filter { $0.level == .error }.count == 1)
    }

    @Test("a cached token is still handed out while a refresh fails and backs off")
    func cachedTokenSurvivesFailedRefresh() async throws {
        var settings = SimulatorConfiguration()
        settings.userCount = 1
        settings.tokenLifetimeSeconds = 16
        let simulator = GraphSimulator(configuration: settings)
        _ = try await simulator.start()
        let directory = TemporaryDirectory()
        let secretFile = directory.write("secret", settings.clientSecret)
        let logs = InMemoryLogHandler()
        let clock = SteppedClock()
        let tokens = try Self.provider(
            simulator, settings, secretFile: secretFile, logs: logs, backoff: .standard, http: Self.shortConnectHTTP,
            clock: clock)
        let first = try await tokens.token()
        await simulator.stop()
        // Just past half the token's life a refresh is due; it fails, but the token has almost 8 s left. (The stepped
        // clock also follows real time, and stopping the simulator can take seconds on a loaded machine: step to
        // the refresh time, not by a fixed amount.)
        clock.step(by: max(.zero, first.refreshAt + .milliseconds(100) - clock.now()))
        #expect(clock.now() < first.expiresAt - .seconds(4))
        let second = try await tokens.token()
        #expect(second.expiresAt == first.expiresAt)
        #expect(await tokens.signInState.isFailing)
        #expect(await tokens.signInAttempts == 2)
        _ = try await tokens.token()
        #expect(await tokens.signInAttempts == 2, "the backoff holds the next attempt")
    }
}
