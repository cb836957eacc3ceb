import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Single authorized requests to Graph, for the operator commands and the user resolver.
///
/// The same sign-in and HTTP path the daemon uses (`AccessTokenProvider`, `GraphHTTP`), with the same rule for a
/// 401: drop the token, sign in again and retry once. Answers of any status are returned; callers decide what
/// success is and turn the rest into errors with `GraphError.fromAnswer(_:)`.
public struct GraphSession: Sendable {
    /// The configured Graph host and sign-in authority.
    public let endpoints: GraphEndpoints
    private let http: GraphHTTP
    private let tokens: AccessTokenProvider
    private let logger: Logger

    public init(http: GraphHTTP, tokens: AccessTokenProvider, endpoints: GraphEndpoints, logger: Logger) {
        self.http = http
        self.tokens = tokens
        self.endpoints = endpoints
        self.logger = logger
    }

    /// `{graphBaseURL}/v1.0{path}`; `path` starts with `/` and is already percent-encoded.
    public func url(_ path: String) -> String { "\(endpoints.graphBaseURL)/v1.0\(path)" }

    /// Sends one request with a bearer token (and a JSON body when given) and returns Graph's answer.
    public func send(
        _ method: HTTPMethod, _ path: String, json body: Data? = nil, headers extra: [(String, String)] = []
    ) async throws(GraphError) -> HTTPAnswer {
        try await send(method, url: url(path), json: body, headers: extra)
    }

    /// Like `send(_:_:json:headers:)` for a complete URL, such as an `@odata.nextLink`.
    ///
    /// Refuses (as a malformed answer) any URL outside the configured Graph host, so that a link in an answer
    /// can never make the daemon send its token elsewhere.
    public func send(
        _ method: HTTPMethod, url: String, json body: Data? = nil, headers extra: [(String, String)] = []
    ) async throws(GraphError) -> HTTPAnswer {
        guard url.hasPrefix(endpoints.graphBaseURL + "/") else {
            throw GraphError.malformedAnswer(
                reason: "refusing to follow a link outside \(endpoints.graphBaseURL): \(url)", requestID: nil)
        }
        var token = try await tokens.token()
        var answer = try await send(method, url: url, body: body, token: token, extra: extra)
        if answer.status == 401 {
            logger.info("Graph rejected the access token; signing in again", metadata: ["url": "\(url)"])
            await tokens.invalidate(token)
            token = try await tokens.token()
            answer = try await send(method, url: url, body: body, token: token, extra: extra)
        }
        return answer
    }

    /// Like `send`, but any status other than `expected` becomes a `GraphError`.
    public func send(
        _ method: HTTPMethod, _ path: String, json body: Data? = nil, expecting expected: Set<Int>
    ) async throws(GraphError) -> HTTPAnswer {
        let answer = try await send(method, path, json: body)
        guard expected.contains(answer.status) else { throw GraphError.fromAnswer(answer) }
        return answer
    }

    private func send(
        _ method: HTTPMethod, url: String, body: Data?, token: AccessToken, extra: [(String, String)]
    ) async throws(GraphError) -> HTTPAnswer {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(token.value)")
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "client-request-id", value: UUID().uuidString.lowercased())
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        for (name, value) in extra { headers.add(name: name, value: value) }
        let answer = try await http.send(
            method: method, url: url, headers: headers, body: body.map { ByteBuffer(bytes: $0) })
        logger.debug(
            "Graph answered",
            metadata: ["url": "\(url)", "status": "\(answer.status)", "request-id": "\(answer.requestID ?? "-")"])
        return answer
    }
}
