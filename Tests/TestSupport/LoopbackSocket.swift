import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// TCP sockets on 127.0.0.1 on ports the system picks: for servers a test starts on a free port, and for a port
/// that is taken.
public enum LoopbackSocket {
    /// The socket could not be made, bound or put to listen.
    public struct Failure: Error {}

    /// A port nobody listens on right now: bound to 127.0.0.1:0 and released.
    public static func freePort() throws -> Int {
        let socket = try listening()
        close(socket.fd)
        return socket.port
    }

    /// A TCP socket listening on 127.0.0.1 on a port the system picked; the caller closes it.
    public static func listening() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure() }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && getsockname(fd, generic, &length) == 0 && listen(fd, 1) == 0
            }
        }
        guard bound else {
            close(fd)
            throw Failure()
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}

/// Waits until `condition` holds (at most `seconds`), looking every 50 ms: a state a test can wait for, instead of
/// sleeping and hoping it has been reached.
public func eventually(seconds: Double = 60, _ condition: () async throws -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return (try? await condition()) == true
}
