import Hummingbird
import Logging
import ServiceLifecycle

/// A Hummingbird application served in the background of a process that owns its own signals: started on a host
/// and port (0 for any free port), stopped gracefully.
///
/// One place for what the daemon's metrics endpoint, the Graph simulator, the delivery benchmark's receiver and
/// the tests' webhook receiver all need: a `ServiceGroup` without signal handlers (the process decides when to
/// stop), the bound port once the socket listens, and a stop that lets requests in flight finish for a grace
/// period before cancelling what is left.
public final class HostedServer: Sendable {
    /// The port the socket is bound to.
    public let port: Int
    private let task: Task<Void, any Error>
    private let group: ServiceGroup

    /// Binds `host:port`, serves `router` in the background and returns once the socket listens.
    ///
    /// Throws `HostedServerError` (with the reason the server gave) when it stops before listening, such as an
    /// address already in use.
    public static func start<Context: RequestContext>(
        router: Router<Context>, host: String, port: Int, logger: Logger
    ) async throws -> HostedServer where Context: InitializableFromSource<ApplicationRequestContextSource> {
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(
            services: [application], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
        let task = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        // A caller cancelled while the socket is being bound stops the server too, instead of waiting for it.
        let bound = await withTaskCancellationHandler {
            var iterator = ports.makeAsyncIterator()
            return await iterator.next()
        } onCancel: {
            task.cancel()
        }
        if let bound, !Task.isCancelled { return HostedServer(port: bound, task: task, group: group) }
        if bound != nil {
            task.cancel()
            throw CancellationError()
        }
        let reason: String
        do {
            try await task.value
            reason = "the server stopped before listening"
        } catch {
            reason = "\(error)"
        }
        throw HostedServerError(host: host, port: port, reason: reason)
    }

    private init(port: Int, task: Task<Void, any Error>, group: ServiceGroup) {
        self.port = port
        self.task = task
        self.group = group
    }

    /// Stops accepting, closes idle connections and lets requests in flight finish for up to `gracePeriod`, then
    /// cancels what is left; returns once the socket and every connection are closed. Idempotent.
    public func stop(gracePeriod: Duration = .seconds(2)) async {
        await group.triggerGracefulShutdown()
        let task = self.task
        let watchdog = Task {
            try await Task.sleep(for: gracePeriod)
            task.cancel()
        }
        _ = try? await task.value
        watchdog.cancel()
    }

    /// Waits until the server stops (after `stop`, or by failing); throws what stopped it, if anything did.
    public func wait() async throws {
        try await task.value
    }
}

/// A server that could not listen.
public struct HostedServerError: Error, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var reason: String

    public var description: String { "cannot listen on \(host):\(port): \(reason)" }
}
