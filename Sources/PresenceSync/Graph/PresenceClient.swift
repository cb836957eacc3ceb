import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// One getPresencesByUserId answer as it arrived: for `PresenceAnswer.scan`, which reads it in place.
public struct RawPresenceAnswer: Sendable {
    public var body: ByteBuffer
    public var requestID: String?
}

/// Reads presence for a batch of users from Graph's `getPresencesByUserId`.
///
/// A 401 means the token was revoked or expired early: the client drops it, signs in again and retries once.
/// Every other failure is returned to the caller, which decides whether the batch is skipped this cycle.
public struct PresenceClient: Sendable {
    /// Graph's documented maximum number of ids in one request.
    public static let maxIDsPerRequest = 650

    private let http: GraphHTTP
    private let tokens: AccessTokenProvider
    private let url: String
    private let logger: Logger
    private let recorder: (any GraphMetricsRecorder)?

    public init(
        http: GraphHTTP, tokens: AccessTokenProvider, endpoints: GraphEndpoints, logger: Logger,
        recorder: (any GraphMetricsRecorder)? = nil
    ) {
        self.http = http
        self.tokens = tokens
        self.url = endpoints.presencesByUserIDURL
        self.logger = logger
        self.recorder = recorder
    }

    /// Fetches the answer for `ids` (at most 650) without decoding it: the poll cycle scans it in place
    /// (`PresenceAnswer.scan`) and matches it to users by id, never by position.
    public func presenceAnswer(for ids: [String]) async throws(GraphError) -> RawPresenceAnswer {
        precondition(ids.count <= Self.maxIDsPerRequest, "a batch holds at most 650 ids")
        let body = Self.requestBody(ids)
        var token = try await tokens.token()
        var answer = try await send(body, token: token)
        if answer.status == 401 {
            logger.info("Graph rejected the access token; signing in again", metadata: Self.metadata(answer))
            await tokens.invalidate(token)
            token = try await tokens.token()
            answer = try await send(body, token: token)
        }
        guard answer.status == 200 else { throw Self.statusError(answer) }
        return RawPresenceAnswer(body: answer.body, requestID: answer.requestID)
    }

    private func send(_ body: ByteBuffer, token: AccessToken) async throws(GraphError) -> HTTPAnswer {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(token.value)")
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Accept", value: "application/json")
        let clientRequestID = UUID().uuidString.lowercased()
        headers.add(name: "client-request-id", value: clientRequestID)
        let started = ContinuousClock.now
        let answer: HTTPAnswer
        do {
            answer = try await http.send(method: .POST, url: url, headers: headers, body: body)
        } catch {
            recorder?.presenceBatchFailed(latency: ContinuousClock.now - started)
            logger.debug(
                "getPresencesByUserId got no answer",
                metadata: ["client-request-id": "\(clientRequestID)", "error": "\(error)"])
            throw error
        }
        recorder?.presenceBatchAnswered(status: answer.status, latency: ContinuousClock.now - started)
        var metadata = Self.metadata(answer)
        metadata["client-request-id"] = "\(clientRequestID)"
        if answer.status == 200 {
            logger.debug("getPresencesByUserId answered", metadata: metadata)
        } else {
            // Microsoft support asks for both ids; the error that reaches the log carries the request-id only.
            logger.info("getPresencesByUserId failed", metadata: metadata)
        }
        return answer
    }

    /// `{"ids":[...]}`; ids are validated GUIDs, so they need no escaping.
    static func requestBody(_ ids: [String]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(10 + ids.count * 39)
        buffer.writeString("{\"ids\":[")
        for (index, id) in ids.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeInteger(UInt8(ascii: "\""))
            buffer.writeString(id)
            buffer.writeInteger(UInt8(ascii: "\""))
        }
        buffer.writeString("]}")
        return buffer
    }

    /// Turns a non-200 answer into a `GraphError.status` (shared with the operator commands' clients).
    static func statusError(_ answer: HTTPAnswer) -> GraphError {
        GraphError.fromAnswer(answer)
    }

    private static func metadata(_ answer: HTTPAnswer) -> Logger.Metadata {
        ["status": "\(answer.status)", "request-id": "\(answer.requestID ?? "-")"]
    }
}
