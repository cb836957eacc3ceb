import Foundation

/// Speaks systemd's notification protocol (`sd_notify(3)`) over `$NOTIFY_SOCKET`, without libsystemd.
///
/// Each message is one datagram of newline-separated `KEY=VALUE` fields sent to the unix datagram socket systemd
/// named in `$NOTIFY_SOCKET`: a path, or an abstract socket name written with a leading `@`. When the variable is
/// unset (not started by systemd, or a `Type=` that does not listen) every call is a no-op, so callers never
/// need to check. Sending never blocks for long and never throws: a lost notification must not stop the daemon.
///
/// `@unchecked Sendable` is safe: every stored property is immutable after `init`; the socket descriptor is
/// only passed to `sendto(2)`, which is thread-safe for datagram sockets, and closed in `deinit` when no other
/// reference can exist.
public final class SystemdNotifier: @unchecked Sendable {
    /// The socket address named by `$NOTIFY_SOCKET` (abstract names start with NUL), nil when not under systemd.
    private let address: [UInt8]?
    private let socketDescriptor: Int32
    /// How often systemd expects `WATCHDOG=1`, from `$WATCHDOG_USEC`; nil when the watchdog is off or is meant
    /// for another process (`$WATCHDOG_PID`).
    public let watchdogInterval: Duration?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from `environment`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        watchdogInterval = Self.watchdogInterval(environment: environment, pid: getpid())
        guard let name = environment["NOTIFY_SOCKET"], let address = Self.socketAddress(name) else {
            self.address = nil
            self.socketDescriptor = -1
            return
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.address = descriptor >= 0 ? address : nil
        self.socketDescriptor = descriptor
    }

    deinit { if socketDescriptor >= 0 { close(socketDescriptor) } }

    /// True when notifications go somewhere (the process was started with `$NOTIFY_SOCKET`).
    public var isEnabled: Bool { address != nil }

    /// Start-up is complete: the database is open and the configuration valid.
    public func ready(status: String? = nil) {
        send(["READY=1"] + (status.map { ["STATUS=\($0)"] } ?? []))
    }

    /// A one-line summary `systemctl status` shows next to the unit.
    public func status(_ text: String) { send(["STATUS=\(text)"]) }

    /// A reload has started; `ready(status:)` ends it. Carries the monotonic time `Type=notify-reload` requires.
    public func reloading() { send(["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())"]) }

    /// Shutdown has started.
    public func stopping() { send(["STOPPING=1"]) }

    /// The service is alive and making progress.
    public func watchdog() { send(["WATCHDOG=1"]) }

    /// Sends `fields` as one datagram; a no-op when not under systemd.
    public func send(_ fields: [String]) {
        guard let address else { return }
        let message = Array(fields.map { Self.singleLine($0) }.joined(separator: "\n").utf8)
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        let length = withUnsafeMutableBytes(of: &storage.sun_path) { path -> Int in
            let count = min(address.count, path.count)
            path.copyBytes(from: address.prefix(count))
            return count
        }
        let addressLength = socklen_t(MemoryLayout<sa_family_t>.size + length)
        _ = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                message.withUnsafeBytes { bytes in
                    sendto(
                        socketDescriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), socketAddress,
                        addressLength)
                }
            }
        }
    }

    /// The bytes of `sun_path` for a `$NOTIFY_SOCKET` value: a path (NUL-terminated) or `@name` (abstract,
    /// leading NUL, not terminated). Nil for values systemd would not send (relative paths, too long).
    static func socketAddress(_ name: String) -> [UInt8]? {
        var bytes = Array(name.utf8)
        guard let first = bytes.first else { return nil }
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        if first == UInt8(ascii: "@") {
            bytes[0] = 0
            return bytes.count <= capacity ? bytes : nil
        }
        guard first == UInt8(ascii: "/") else { return nil }
        bytes.append(0)
        return bytes.count <= capacity ? bytes : nil
    }

    /// `$WATCHDOG_USEC` as a duration, unless `$WATCHDOG_PID` names another process (sd_watchdog_enabled(3)).
    static func watchdogInterval(environment: [String: String], pid: Int32) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 else {
            return nil
        }
        if let owner = environment["WATCHDOG_PID"], Int32(owner) != pid { return nil }
        return .microseconds(microseconds)
    }

    /// CLOCK_MONOTONIC in microseconds, the clock systemd compares `MONOTONIC_USEC` with.
    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }

    /// A field value must not contain newlines: they would start a new field.
    private static func singleLine(_ field: String) -> String {
        field.contains("\n") ? field.replacingOccurrences(of: "\n", with: " ") : field
    }
}
