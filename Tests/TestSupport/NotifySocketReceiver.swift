import Foundation
import Synchronization

/// A real unix datagram socket playing systemd's side of `$NOTIFY_SOCKET`: it collects every notification.
///
/// Bound to a path inside a temporary directory, or to an abstract name (`@...`). Reads are non-blocking and
/// happen while a test waits, so no thread is needed.
public final class NotifySocketReceiver: Sendable {
    /// The value to put into `$NOTIFY_SOCKET`.
    public let address: String
    private let descriptor: Int32
    private let received = Mutex<[String]>([])

    /// Binds `path` (a filesystem path, or `@name` for an abstract socket).
    public init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        address = path
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if path.hasPrefix("@") { bytes[0] = 0 } else { bytes.append(0) }
        let count = bytes.count
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + count)
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard result == 0 else {
            let error = errno
            close(descriptor)
            throw POSIXError(.init(rawValue: error) ?? .EIO)
        }
    }

    deinit { close(descriptor) }

    /// Every datagram received so far, in order (reads pending ones first).
    public var messages: [String] {
        drain()
        return received.withLock { $0 }
    }

    /// Waits until a received datagram contains `field` (e.g. `READY=1`) at least `count` times in all.
    public func waitFor(_ field: String, count: Int = 1, timeout: Duration = .seconds(30)) async
        -> Bool
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if occurrences(of: field) >= count { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return occurrences(of: field) >= count
    }

    /// How many received datagrams hold `field` as one of their lines.
    public func occurrences(of field: String) -> Int {
        messages.filter { $0.split(separator: "\n").contains { $0 == field || $0.hasPrefix(field) } }
            .count
    }

    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes {
                recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
            }
            guard count > 0 else { return }
            let text = String(decoding: buffer[0..<count], as: UTF8.self)
            received.withLock { $0.append(text) }
        }
    }
}
