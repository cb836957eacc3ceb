import HTTPHosting
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// Serves `/metrics` (Prometheus text format), `/healthz` and `/readyz` on the configured address.
///
/// - `GET /metrics`: every metric in ``DaemonMetrics``'s registry.
/// - `GET /healthz`: 200 `ok` while the process runs.
/// - `GET /readyz`: 200 `ready` when the last sign-in worked and a cycle observed presence within three
///   intervals; otherwise 503 with a one-line reason.
final class ObservabilityServer: Sendable {
    let address: ListenAddress
    let metrics: DaemonMetrics
    let logger: Logger
    private let failed = Mutex<ObservabilityEndpointError?>(nil)

    init(address: ListenAddress, metrics: DaemonMetrics, logger: Logger) {
        self.address = address
        self.metrics = metrics
        self.logger = logger
    }

    /// Why serving failed (the address is taken or not local); nil while serving or after a normal stop.
    var failure: ObservabilityEndpointError? { failed.withLock { $0 } }

    /// Serves until the calling task is cancelled, then closes the socket; returns why it stopped. A failure is
    /// logged and kept in `failure`.
    func run() async -> String {
        do throws(ObservabilityEndpointError) {
            try await serve()
            return "metrics and health endpoint stopped"
        } catch {
            logger.error("\(error)")
            failed.withLock { $0 = error }
            return "metrics and health endpoint failed"
        }
    }

    private func serve() async throws(ObservabilityEndpointError) {
        let hosted: HostedServer
        do {
            hosted = try await HostedServer.start(
                router: makeRouter(), host: address.host, port: address.port, logger: logger)
        } catch {
            // Stopped by the daemon before it got going: not a failure.
            if Task.isCancelled { return }
            throw ObservabilityEndpointError(
                address: address, reason: (error as? HostedServerError)?.reason ?? "\(error)")
        }
        let bound = ListenAddress(host: address.host, port: hosted.port)
        logger.info("metrics and health endpoint listening", metadata: ["address": "\(bound)"])
        // The daemon stops this by cancelling its task: a graceful stop (stop accepting, let a scrape in flight
        // finish, cut after 2 s) rather than cutting open connections.
        do {
            try await withTaskCancellationHandler {
                try await hosted.wait()
            } onCancel: {
                Task { await hosted.stop() }
            }
        } catch {
            if Task.isCancelled { return }
            throw ObservabilityEndpointError(address: address, reason: "\(error)")
        }
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        let metrics = metrics
        router.get("metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
        router.get("healthz") { _, _ in Self.text(.ok, "ok") }
        router.get("readyz") { _, _ in
            if let reason = metrics.notReadyReason() { return Self.text(.serviceUnavailable, reason) }
            return Self.text(.ok, "ready")
        }
        return router
    }

    private static func text(_ status: HTTPResponse.Status, _ line: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(
            status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: line + "\n")))
    }
}

/// The metrics and health endpoint could not serve on its configured address.
public struct ObservabilityEndpointError: Error, Sendable, CustomStringConvertible {
    public var address: ListenAddress
    public var reason: String

    public var description: String { "observability.listen \(address): cannot serve (\(reason))" }
}
