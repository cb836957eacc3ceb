import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
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
        let application = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { [logger, address] channel in
                let bound = ListenAddress(host: address.host, port: channel.localAddress?.port ?? address.port)
                logger.info("metrics and health endpoint listening", metadata: ["address": "\(bound)"])
            },
            logger: logger
        )
        // No signal handlers: the daemon owns the process's signals and stops this by cancelling its task.
        let group = ServiceGroup(
            services: [application], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
        // Cancelling the group's own task would cut open connections and log errors; the daemon's cancellation
        // triggers a graceful shutdown instead (stop accepting, let a scrape in flight finish), cut after 2 s.
        let serving = Task { try await group.run() }
        do {
            try await withTaskCancellationHandler {
                try await serving.value
            } onCancel: {
                Task {
                    await group.triggerGracefulShutdown()
                    try? await Task.sleep(for: .seconds(2))
                    serving.cancel()
                }
            }
        } catch {
            // Stopped by the daemon (even before the group got going): not a failure.
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
