import Dispatch
import Foundation

/// Turns SIGTERM and SIGINT into an async event, so shutdown runs as ordinary code instead of in a handler.
///
/// The signals are ignored at the process level and observed through Dispatch sources. A second signal while
/// shutting down exits at once with status 130: the database stays consistent because every batch is a single
/// transaction. SIGPIPE is ignored so that a closed stdout reader becomes a write error, not a silent death.
/// SIGHUP (what `systemctl reload` sends) is observed too, as a request to re-read the configuration.
///
/// `@unchecked Sendable` is safe: the sources are only created in `init` and cancelled in `cancel`, and the
/// counter is protected by the serial queue all handlers run on.
public final class ShutdownSignals: @unchecked Sendable {
    private let queue = DispatchQueue(label: "presence-sync.signals")
    private var sources: [any DispatchSourceSignal] = []
    private var received = 0
    /// Yields the signal number of each SIGTERM/SIGINT received.
    public let signals: AsyncStream<Int32>
    /// Yields once per SIGHUP: a request to reload the configuration.
    public let reloadRequests: AsyncStream<Void>

    public init() {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        signals = stream
        let (reloads, reloadContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        reloadRequests = reloads
        signal(SIGPIPE, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
        hangup.setEventHandler { reloadContinuation.yield() }
        hangup.activate()
        sources.append(hangup)
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [unowned self] in
                received += 1
                if received > 1 {
                    FileHandle.standardError.write(Data("presence-sync: second signal, exiting now\n".utf8))
                    exit(130)
                }
                continuation.yield(number)
            }
            source.activate()
            sources.append(source)
        }
    }

    /// Waits for the first signal; returns its number (nil if the stream ended).
    public func wait() async -> Int32? {
        for await number in signals { return number }
        return nil
    }

    public func cancel() { queue.sync { for source in sources { source.cancel() } } }
}
