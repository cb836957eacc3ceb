import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

/// One HTTP answer, fully read: what the Graph and token clients need to decide and to report.
public struct HTTPAnswer: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    /// Graph's `request-id` header, kept for every error report.
    public var requestID: String? { headers.first(name: "request-id") }
    /// `Retry-After` in seconds from now (the header holds seconds or an HTTP-date).
    public var retryAfterSeconds: Double? { headers.first(name: "retry-after").flatMap { RetryAfter.seconds($0) } }
}

/// The one HTTP path every outgoing request takes, to Microsoft and to the simulator alike.
///
/// A thin layer over AsyncHTTPClient that applies the configured timeouts, caps answer sizes and turns transport
/// failures into `GraphError.transport` with the URL (never headers, which carry tokens).
public final class GraphHTTP: Sendable {
    /// Answers larger than this are refused: 650 presences with long status messages stay far below it.
    public static let maxAnswerBytes = 32 * 1024 * 1024

    private let client: HTTPClient
    private let requestTimeout: TimeAmount

    public init(connectTimeoutSeconds: Double, requestTimeoutSeconds: Double) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .milliseconds(Int64(connectTimeoutSeconds * 1000)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60))
        configuration.decompression = .enabled(limit: .ratio(50))
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.requestTimeout = .milliseconds(Int64(requestTimeoutSeconds * 1000))
    }

    /// Sends one request and reads the whole answer within the request timeout.
    public func send(
        method: HTTPMethod, url: String, headers: HTTPHeaders, body: ByteBuffer?
    ) async throws(GraphError) -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        if let body { request.body = .bytes(body) }
        let deadline = NIODeadline.now() + requestTimeout
        do {
            let response = try await client.execute(request, deadline: deadline)
            let body = try await response.body.collect(upTo: Self.maxAnswerBytes)
            return HTTPAnswer(status: Int(response.status.code), headers: response.headers, body: body)
        } catch is CancellationError {
            throw GraphError.cancelled
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw GraphError.transport(url: url, reason: "timed out after \(requestTimeout.nanoseconds / 1_000_000) ms")
        } catch let error as HTTPClientError where error == .cancelled {
            throw GraphError.cancelled
        } catch {
            if Task.isCancelled { throw GraphError.cancelled }
            throw GraphError.transport(url: url, reason: String(describing: error))
        }
    }

    /// Closes idle connections; call once when the daemon stops.
    public func shutdown() async {
        try? await client.shutdown()
    }
}
