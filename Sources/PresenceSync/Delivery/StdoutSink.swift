import Dispatch
import Foundation
import Logging

/// Writes each event as one JSON line to a file descriptor (standard output by default).
///
/// Lines are written with write(2) straight from the event bytes, so nothing waits in a buffer: a consumer
/// reading the pipe sees an event as soon as its transaction has committed. Writes happen on a private serial
/// queue because a slow reader can block them. Logs never go here, only events.
///
/// `@unchecked Sendable` is safe: the only mutable member, `brokenPipeLogged`, is touched only on `queue`.
public final class StdoutSink: EventSink, @unchecked Sendable {
    private let fileDescriptor: Int32
    private let queue = DispatchQueue(label: "presence-sync.stdout-sink")
    private let logger: Logger
    private var brokenPipeLogged = false

    public init(fileDescriptor: Int32 = STDOUT_FILENO, logger: Logger) {
        self.fileDescriptor = fileDescriptor
        self.logger = logger
    }

    public func emit(_ events: [ChangeEvent]) async {
        guard !events.isEmpty else { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(events.count * 600)
        for event in events {
            event.appendJSON(to: &bytes)
            bytes.append(UInt8(ascii: "\n"))
        }
        let lines = bytes
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.writeAll(lines)
                continuation.resume()
            }
        }
    }

    public func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                fsync(self.fileDescriptor)
                continuation.resume()
            }
        }
    }

    private func writeAll(_ bytes: [UInt8]) {
        guard let failure = bytes.withUnsafeBytes({ FileDescriptorOutput.writeAll($0, to: fileDescriptor) }) else {
            return
        }
        if !brokenPipeLogged {
            brokenPipeLogged = true
            let reason = String(cString: strerror(failure))
            logger.error("cannot write change events to standard output", metadata: ["error": "\(reason)"])
        }
    }
}
