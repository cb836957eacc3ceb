import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The HTTP client for webhook requests, separate from Graph's: its own timeouts, no redirects, answers read
/// only as far as needed (status and `Retry-After`).
public final class WebhookTransport: Sendable {
    /// What one attempt got back.
    public struct Answer: Sendable, Equatable {
        /// The HTTP status, nil when no answer came (timeout, connection refused or reset).
        public var status: Int?
        /// `Retry-After` in seconds from now, when the answer carried one (seconds or an HTTP-date).
        public var retryAfterSeconds: Double?
        /// What went wrong without an answer, naming the URL (never headers, which may carry credentials).
        public var error: String?
    }

    private let client: HTTPClient

    public init() {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10))
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool = .init(idleTimeout: .seconds(60))
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// POSTs `body` and waits at most `timeout` for the answer. Throws only `CancellationError`.
    public func post(url: String, headers: HTTPHeaders, body: [UInt8], timeout: Duration) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(ByteBuffer(bytes: body))
        let deadline =
            NIODeadline.now()
            + .nanoseconds(
                timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        do {
            let response = try await client.execute(request, deadline: deadline)
            // The body is not needed; read a little so the connection can be reused.
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let retryAfter = response.headers.first(name: "retry-after").flatMap { RetryAfter.seconds($0) }
            return Answer(status: Int(response.status.code), retryAfterSeconds: retryAfter, error: nil)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout {
                return Answer(error: "\(url): no answer within \(timeout)")
            }
            return Answer(error: "\(url): \(error)")
        }
    }

    /// Closes idle connections; call once when the daemon stops.
    public func shutdown() async {
        try? await client.shutdown()
    }
}
