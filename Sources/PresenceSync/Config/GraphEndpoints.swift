import Foundation

/// The sign-in authority and Graph host the daemon talks to, from a national-cloud preset or explicit overrides.
///
/// Plain `http` is accepted only for loopback hosts (the simulator): anything else would send secrets and
/// tokens in clear text.
public struct GraphEndpoints: Sendable, Equatable {
    /// The named cloud presets, with their login and Graph hosts (graph-presence-facts.md, section 3).
    public enum Cloud: String, Sendable, CaseIterable {
        case global
        case usgov
        case usgovDoD = "usgov-dod"
        case china

        var authorityHost: String {
            switch self {
            case .global: "https://login.microsoftonline.com"
            case .usgov, .usgovDoD: "https://login.microsoftonline.us"
            case .china: "https://login.chinacloudapi.cn"
            }
        }

        var graphBaseURL: String {
            switch self {
            case .global: "https://graph.microsoft.com"
            case .usgov: "https://graph.microsoft.us"
            case .usgovDoD: "https://dod-graph.microsoft.us"
            case .china: "https://microsoftgraph.chinacloudapi.cn"
            }
        }
    }

    public var cloud: Cloud
    /// Scheme and host of the token authority, without a trailing slash (`https://login.microsoftonline.com`).
    public var authorityHost: String
    /// Scheme and host (and optional path prefix) of Graph, without the version segment.
    public var graphBaseURL: String
    /// The OAuth2 scope requested: `<graph base>/.default` unless overridden.
    public var scope: String

    /// The token endpoint for `tenant`.
    public func tokenURL(tenant: String) -> String { "\(authorityHost)/\(tenant)/oauth2/v2.0/token" }

    /// The getPresencesByUserId endpoint.
    public var presencesByUserIDURL: String { "\(graphBaseURL)/v1.0/communications/getPresencesByUserId" }

    /// Checks an endpoint URL: absolute, https (or http to a loopback host), no query or fragment.
    static func validatedBaseURL(_ text: String, key: String) throws(ConfigError) -> String {
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), let host = url.host,
            !host.isEmpty
        else {
            throw ConfigError(key: key, "'\(text)' is not an absolute URL such as https://graph.microsoft.com")
        }
        guard url.query == nil, url.fragment == nil, url.user == nil else {
            throw ConfigError(key: key, "'\(text)' must not carry a query, fragment or user info")
        }
        switch scheme {
        case "https":
            break
        case "http":
            guard isLoopback(host: host) else {
                throw ConfigError(
                    key: key, "plain http is allowed only for loopback hosts (127.0.0.1, ::1, localhost), not \(host)")
            }
        default:
            throw ConfigError(key: key, "scheme '\(scheme)' is not supported; use https")
        }
        let lowered = url.path.lowercased()
        if lowered.hasSuffix("/v1.0") || lowered.hasSuffix("/beta") {
            throw ConfigError(key: key, "give the base URL without the API version (drop '\(url.path)')")
        }
        return trimmed
    }

    /// True for `localhost`, 127.0.0.0/8 and ::1.
    static func isLoopback(host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
