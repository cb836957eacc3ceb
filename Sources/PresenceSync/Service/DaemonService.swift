import ServiceLifecycle
import Synchronization

/// One of the daemon's long-running loops as a swift-service-lifecycle `Service`, named in the logs.
///
/// The loop runs until it ends by itself (returning why: the last cycle ran, a stop was requested, a signal came)
/// or until the group shuts down gracefully, which cancels it (`cancelWhenGracefulShutdown`): every loop of the
/// daemon treats cancellation as "stop", and the poll loop lets the batch being stored finish. The first loop to
/// end by itself reports why to `ShutdownReason`, and the group (configured to shut down gracefully when any
/// service returns) then stops the others in reverse order.
struct DaemonService: Service, CustomStringConvertible {
    /// A short name for the logs ("poll loop", "user tracker", ...).
    let description: String
    let shutdown: ShutdownReason
    let body: @Sendable () async -> String

    func run() async throws {
        let (reason, cancelled) = await cancelWhenGracefulShutdown {
            let reason = await body()
            return (reason, Task.isCancelled)
        }
        if !cancelled { shutdown.ended(description, because: reason) }
    }

    /// The service as the group runs it: any end, normal or not, shuts the whole daemon down gracefully.
    var configuration: ServiceGroupConfiguration.ServiceConfiguration {
        .init(
            service: self, successTerminationBehavior: .gracefullyShutdownGroup,
            failureTerminationBehavior: .gracefullyShutdownGroup)
    }
}

/// Why the daemon is shutting down: the first loop that ended by itself, reported once.
final class ShutdownReason: Sendable {
    private let reason = Mutex<String?>(nil)
    private let onFirst: @Sendable (String) -> Void

    /// `onFirst` is called once, with the reason, when the first loop ends by itself.
    init(onFirst: @escaping @Sendable (String) -> Void) { self.onFirst = onFirst }

    func ended(_ service: String, because reason: String) {
        let first = self.reason.withLock { current -> Bool in
            guard current == nil else { return false }
            current = reason
            return true
        }
        if first { onFirst(reason) }
    }
}
