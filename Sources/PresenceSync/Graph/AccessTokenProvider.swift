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

/// Signs in as the application (OAuth2 client credentials) and hands out a cached token.
///
/// The token is refreshed `refreshMargin` before it expires; concurrent callers share one refresh in flight, so
/// a cycle of 150 batches never causes 150 sign-ins. `invalidate(_:)` drops a token Graph rejected with 401.
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

    private var cached: AccessToken?
    private var refreshing: Task<AccessToken, any Error>?
    /// Sign-ins performed so far (a health signal and a test hook).
    public private(set) var signIns = 0

    public init(
        tenantID: String, clientID: String, credential: ClientCredentialSource, endpoints: GraphEndpoints,
        http: GraphHTTP, logger: Logger, refreshMargin: Duration = .seconds(300),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        recorder: (any GraphMetricsRecorder)? = nil
    ) {
        self.recorder = recorder
        self.tenantID = tenantID
        self.clientID = clientID
        self.credential = credential
        self.endpoints = endpoints
        self.http = http
        self.logger = logger
        self.refreshMargin = refreshMargin
        self.environment = environment
    }

    /// A token valid for at least the refresh margin (or the rest of a short-lived token's life).
    public func token() async throws(GraphError) -> AccessToken {
        if let cached, ContinuousClock.now < cached.refreshAt { return cached }
        let task: Task<AccessToken, any Error>
        if let refreshing {
            task = refreshing
        } else {
            let recorder = self.recorder
            task = Task {
                do {
                    let token = try await self.signIn()
                    recorder?.signInFinished(succeeded: true)
                    return token
                } catch {
                    recorder?.signInFinished(succeeded: false)
                    throw error
                }
            }
            refreshing = task
        }
        do {
            let token = try await task.value
            if refreshing == task { refreshing = nil }
            cached = token
            return token
        } catch {
            if refreshing == task { refreshing = nil }
            throw (error as? GraphError) ?? .transport(url: endpoints.tokenURL(tenant: tenantID), reason: "\(error)")
        }
    }

    /// Forgets `token` after Graph rejected it, so the next `token()` signs in again.
    public func invalidate(_ token: AccessToken) {
        if cached?.value == token.value { cached = nil }
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
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        headers.add(name: "Accept", value: "application/json")
        let body = ByteBuffer(string: FormEncoding.encode(form))
        let started = ContinuousClock.now
        let answer = try await http.send(method: .POST, url: url, headers: headers, body: body)
        signIns += 1
        guard answer.status == 200 else {
            throw .authentication(Self.parseFailure(answer))
        }
        guard let reply = try? JSONDecoder().decode(TokenReply.self, from: Data(answer.body.readableBytesView)),
            !reply.access_token.isEmpty, reply.expires_in > 0
        else {
            throw .authentication(
                AuthenticationError(status: 200, detail: "the token endpoint's answer has no usable access_token"))
        }
        logger.debug("signed in", metadata: ["expires_in": "\(reply.expires_in)"])
        let lifetime = Duration.seconds(reply.expires_in)
        return AccessToken(
            value: reply.access_token, expiresAt: started + lifetime,
            refreshAt: started + max(lifetime - refreshMargin, lifetime / 2))
    }

    private struct TokenReply: Decodable {
        var access_token: String
        var expires_in: Int
    }

    private struct FailureReply: Decodable {
        var error: String?
        var error_description: String?
        var error_codes: [Int]?
        var trace_id: String?
    }

    /// Reads Entra's error document; an answer that is not one still yields a useful message.
    static func parseFailure(_ answer: HTTPAnswer) -> AuthenticationError {
        guard let reply = try? JSONDecoder().decode(FailureReply.self, from: Data(answer.body.readableBytesView)) else {
            return AuthenticationError(
                status: answer.status, detail: "the token endpoint answered HTTP \(answer.status) without an error document")
        }
        let description = reply.error_description ?? "no description"
        let firstLine = description.split(whereSeparator: \.isNewline).first.map(String.init) ?? description
        var code = reply.error_codes?.first
        if code == nil, firstLine.hasPrefix("AADSTS") {
            code = Int(firstLine.dropFirst(6).prefix { $0.isNumber })
        }
        return AuthenticationError(
            status: answer.status, error: reply.error, aadstsCode: code, detail: firstLine, traceID: reply.trace_id)
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
