import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// An OAuth2 access token. Its description never shows the token itself.
public struct AccessToken: Sendable, CustomStringConvertible {
    let value: String
    /// When the token stops being accepted, on the monotonic clock.
    public let expiresAt: ContinuousClock.Instant
    /// When to fetch the next one: the refresh margin before expiry, but never before half the token's life,
    /// so that a short-lived token is not refreshed on every use.
    public let refreshAt: ContinuousClock.Instant

    public var description: String { "AccessToken(redacted, expires \(expiresAt))" }
}

/// Signs in as the application (OAuth2 client credentials, with a client secret or a certificate) and hands out a
/// cached token.
///
/// The token is refreshed `refreshMargin` before it expires; concurrent callers share one refresh in flight, so
/// a cycle of 150 batches never causes 150 sign-ins. `invalidate(_:)` drops a token Graph rejected with 401.
///
/// A failed sign-in (a refusal such as a wrong secret, an unreachable or failing token endpoint) starts a backoff
/// (``SignInBackoff``): until it runs out, callers fail at once with the last error and no request is sent, while
/// a token that has not expired yet is still handed out. The failure is logged once per streak of failures at
/// error level, with the AADSTS code and what to do; ``signInState`` tells health checks about it.
public actor AccessTokenProvider {
    private let tenantID: String
    private let clientID: String
    private let credential: ClientCredentialSource
    private let endpoints: GraphEndpoints
    private let http: GraphHTTP
    private let logger: Logger
    private let refreshMargin: Duration
    private let environment: [String: String]
    private let recorder: (any GraphMetricsRecorder)?
    private let backoff: SignInBackoff
    /// The monotonic clock's time: token lifetimes, refresh points and backoffs are measured with it (injected by
    /// tests that step time forward instead of waiting for it).
    private let now: @Sendable () -> ContinuousClock.Instant

    private var cached: AccessToken?
    private var refreshing: Task<AccessToken, any Error>?
    private var state = SignInState()
    /// Sign-ins answered by the token endpoint so far (a health signal and a test hook).
    public private(set) var signIns = 0
    /// Sign-in attempts so far, answered or not (requests sent, or credentials that could not be read).
    public private(set) var signInAttempts = 0

    public init(
        tenantID: String, clientID: String, credential: ClientCredentialSource, endpoints: GraphEndpoints,
        http: GraphHTTP, logger: Logger, refreshMargin: Duration = .seconds(300),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        recorder: (any GraphMetricsRecorder)? = nil, backoff: SignInBackoff = .standard,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.now = now
        self.recorder = recorder
        self.tenantID = tenantID
        self.clientID = clientID
        self.credential = credential
        self.endpoints = endpoints
        self.http = http
        self.logger = logger
        self.refreshMargin = refreshMargin
        self.environment = environment
        self.backoff = backoff
    }

    /// Whether signing in works, and if not, since how many attempts, why and when the next one is due.
    public var signInState: SignInState { state }

    /// A token valid for at least the refresh margin (or the rest of a short-lived token's life).
    ///
    /// During a sign-in backoff this returns the cached token while it has not expired, and otherwise throws the
    /// last sign-in error without contacting the token endpoint.
    public func token() async throws(GraphError) -> AccessToken {
        let now = self.now()
        if let cached, now < cached.refreshAt { return cached }
        if let failure = state.lastFailure, let retryAt = state.nextAttemptAt, now < retryAt {
            if let cached, now < cached.expiresAt { return cached }
            throw failure
        }
        let task: Task<AccessToken, any Error>
        if let refreshing {
            task = refreshing
        } else {
            task = Task { try await self.signInRecordingOutcome() }
            refreshing = task
        }
        do {
            return try await task.value
        } catch {
            if let cached, self.now() < cached.expiresAt { return cached }
            throw (error as? GraphError) ?? .transport(url: endpoints.tokenURL(tenant: tenantID), reason: "\(error)")
        }
    }

    /// Forgets `token` after Graph rejected it, so the next `token()` signs in again.
    public func invalidate(_ token: AccessToken) {
        if cached?.value == token.value { cached = nil }
    }

    /// One sign-in, and its bookkeeping in the same actor turn as clearing `refreshing`: the cache or the failure
    /// streak, the metrics, and the log lines (once per streak, not once per caller).
    private func signInRecordingOutcome() async throws(GraphError) -> AccessToken {
        signInAttempts += 1
        do {
            let token = try await signIn()
            refreshing = nil
            cached = token
            if state.consecutiveFailures > 0 {
                logger.notice(
                    "signed in again", metadata: ["failed_attempts": "\(state.consecutiveFailures)"])
            }
            state = SignInState(lastSuccess: now())
            recorder?.signInFinished(succeeded: true)
            recorder?.signInStateChanged(state)
            return token
        } catch {
            refreshing = nil
            let now = self.now()
            let previous = state.lastFailure
            state.consecutiveFailures += 1
            state.lastFailure = error
            let retryAfter = Self.retryAfter(of: error)
            let delay = backoff.delay(
                afterFailures: state.consecutiveFailures, jitter: Double.random(in: 0...1), retryAfter: retryAfter)
            state.nextAttemptAt = now + delay
            recorder?.signInFinished(succeeded: false)
            recorder?.signInStateChanged(state)
            var metadata: Logger.Metadata = [
                "error": "\(error)", "attempt": "\(state.consecutiveFailures)",
                "next_attempt_in": "\(Self.seconds(delay))s",
            ]
            if let code = state.aadstsCode { metadata["aadsts"] = "\(code)" }
            if error.code == .transport {
                metadata["hint"] = "the token endpoint cannot be reached: check the network, proxy and authorityHost"
            }
            if previous == nil || !Self.sameProblem(previous, error) {
                logger.error("sign-in failed; Graph is not polled until a sign-in works", metadata: metadata)
            } else {
                logger.debug("sign-in still failing", metadata: metadata)
            }
            throw error
        }
    }

    private func signIn() async throws(GraphError) -> AccessToken {
        let url = endpoints.tokenURL(tenant: tenantID)
        var form = [
            ("client_id", clientID), ("scope", endpoints.scope), ("grant_type", "client_credentials"),
        ]
        switch credential {
        case .secret(let source):
            do {
                form.append(("client_secret", try source.read(environment: environment)))
            } catch {
                throw .authentication(AuthenticationError(detail: error.description))
            }
        case .certificate(let certificate):
            // Read again at each sign-in, so a renewed certificate and key are used without a restart.
            let loaded: ClientCertificate
            do {
                loaded = try certificate.load(environment: environment)
            } catch {
                throw .authentication(AuthenticationError(detail: error.description))
            }
            let assertion: String
            do {
                assertion = try ClientAssertion.make(
                    certificate: loaded, algorithm: certificate.algorithm, audience: url, clientID: clientID)
            } catch {
                throw .authentication(error)
            }
            form.append(("client_assertion_type", ClientAssertion.jwtBearerType))
            form.append(("client_assertion", assertion))
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        headers.add(name: "Accept", value: "application/json")
        let body = ByteBuffer(string: FormEncoding.encode(form))
        let started = now()
        let answer = try await http.send(method: .POST, url: url, headers: headers, body: body)
        signIns += 1
        guard answer.status == 200 else {
            throw .authentication(Self.parseFailure(answer))
        }
        guard let reply = try? JSONDecoder().decode(TokenReply.self, from: Data(answer.body.readableBytesView)),
            !reply.accessToken.isEmpty, reply.expiresIn > 0
        else {
            throw .authentication(
                AuthenticationError(status: 200, detail: "the token endpoint's answer has no usable access_token"))
        }
        logger.debug("signed in", metadata: ["expires_in": "\(reply.expiresIn)"])
        let lifetime = Duration.seconds(reply.expiresIn)
        return AccessToken(
            value: reply.accessToken, expiresAt: started + lifetime,
            refreshAt: started + max(lifetime - refreshMargin, lifetime / 2))
    }

    /// Two failures are the same problem when they have the same AADSTS code and status, or are the same
    /// transport failure: a repeat is not logged at error level again.
    private static func sameProblem(_ previous: GraphError?, _ next: GraphError) -> Bool {
        guard let previous, previous.code == next.code else { return false }
        if let a = previous.authenticationFailure, let b = next.authenticationFailure {
            return a.aadstsCode == b.aadstsCode && a.status == b.status && (a.aadstsCode != nil || a.detail == b.detail)
        }
        if next.code == .transport { return previous.url == next.url }
        return previous == next
    }

    private static func retryAfter(of error: GraphError) -> Duration? {
        guard let seconds = error.authenticationFailure?.retryAfterSeconds else { return nil }
        return .milliseconds(Int64(max(0, min(seconds, 3600)) * 1000))
    }

    private static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return String(format: "%.1f", Double(milliseconds) / 1000)
    }

    /// Entra's token answer; its JSON names are snake_case, mapped by `CodingKeys`.
    private struct TokenReply: Decodable {
        var accessToken: String
        var expiresIn: Int

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case expiresIn = "expires_in"
        }
    }

    /// Entra's error document (fields as in its OAuth 2.0 error answers).
    private struct FailureReply: Decodable {
        var error: String?
        var errorDescription: String?
        var errorCodes: [Int]?
        var traceID: String?

        enum CodingKeys: String, CodingKey {
            case error
            case errorDescription = "error_description"
            case errorCodes = "error_codes"
            case traceID = "trace_id"
        }
    }

    /// Reads Entra's error document; an answer that is not one still yields a useful message.
    static func parseFailure(_ answer: HTTPAnswer) -> AuthenticationError {
        guard let reply = try? JSONDecoder().decode(FailureReply.self, from: Data(answer.body.readableBytesView)) else {
            return AuthenticationError(
                status: answer.status,
                detail: "the token endpoint answered HTTP \(answer.status) without an error document",
                retryAfterSeconds: answer.retryAfterSeconds)
        }
        let description = reply.errorDescription ?? "no description"
        let firstLine = description.split(whereSeparator: \.isNewline).first.map(String.init) ?? description
        var code = reply.errorCodes?.first
        if code == nil, firstLine.hasPrefix("AADSTS") {
            code = Int(firstLine.dropFirst(6).prefix { $0.isNumber })
        }
        return AuthenticationError(
            status: answer.status, error: reply.error, aadstsCode: code, detail: firstLine, traceID: reply.traceID,
            retryAfterSeconds: answer.retryAfterSeconds)
    }
}

/// application/x-www-form-urlencoded encoding (RFC 1866 / WHATWG): unreserved characters stay, space is '+'.
enum FormEncoding {
    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "*"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                out.append("+")
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
