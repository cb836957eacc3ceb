/// The metrics and health endpoint (`observability`); off unless `observability.listen` is set.
public struct ObservabilitySettings: Sendable, Equatable {
    /// Where `/metrics`, `/healthz` and `/readyz` are served; nil: no endpoint.
    ///
    /// Anything beyond a loopback address exposes the metrics (user counts, error rates) to the network.
    public var listen: ListenAddress?

    public init(listen: ListenAddress? = nil) {
        self.listen = listen
    }
}

/// A `host:port` to listen on: an IPv4 address, a bracketed IPv6 address (`[::1]:9464`) or `localhost`.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The address to bind, without brackets.
    public var host: String
    /// 0 lets the system pick a free port (tests).
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with brackets around an IPv6 host.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Whether only this machine can connect.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Parses `host:port`; nil when the text is not one (the caller names the key).
    public static func parse(_ text: String) -> ListenAddress? {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard isIPv6(host) else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard host == "localhost" || isIPv4(host) else { return nil }
        }
        guard !portText.isEmpty, portText.allSatisfy(\.isASCII), portText.allSatisfy(\.isNumber),
            portText.count <= 5, let port = Int(portText), port <= 65_535
        else { return nil }
        return ListenAddress(host: String(host), port: port)
    }

    private static func isIPv4(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber }
                    && (Int(part) ?? 256) <= 255
            }
    }

    /// Hex groups separated by colons with at most one `::`; no zone ids, no embedded IPv4.
    private static func isIPv6(_ text: Substring) -> Bool {
        guard !text.isEmpty, text.allSatisfy({ $0.isHexDigit || $0 == ":" }) else { return false }
        let chars = Array(text)
        var halves: [Substring] = []
        var searchStart = text.startIndex
        var compressions = 0
        for offset in 0..<max(chars.count - 1, 0) where chars[offset] == ":" && chars[offset + 1] == ":" {
            guard compressions == 0 else { return false }
            compressions += 1
            let at = text.index(text.startIndex, offsetBy: offset)
            halves.append(text[searchStart..<at])
            searchStart = text.index(at, offsetBy: 2)
        }
        halves.append(text[searchStart...])
        var groups = 0
        for half in halves where !half.isEmpty {
            for group in half.split(separator: ":", omittingEmptySubsequences: false) {
                guard !group.isEmpty, group.count <= 4 else { return false }
                groups += 1
            }
        }
        return compressions == 1 ? groups <= 7 : groups == 8
    }
}
