import Foundation

extension Configuration {
    /// Header names the daemon sets itself; a static header may not replace them.
    static let reservedHeaders: Set<String> = [
        "content-type", "content-length", "host", "webhook-id", "webhook-timestamp", "webhook-signature",
        "transfer-encoding", "connection",
    ]

    /// Parses `events.webhooks`. Secrets are read now, so a missing or malformed one stops the start (exit 78).
    static func parseWebhooks(
        _ events: inout ConfigReader, environment: [String: String], baseDirectory: String
    ) throws(ConfigError) -> [WebhookEndpoint] {
        guard let value = events.value("webhooks") else { return [] }
        guard case .array(let items) = value else {
            throw ConfigError(
                key: events.keyPath("webhooks"), "expected an array of endpoints, found \(value.typeName)")
        }
        var endpoints: [WebhookEndpoint] = []
        var names = Set<String>()
        for (index, item) in items.enumerated() {
            var reader = try ConfigReader(item, path: events.keyPath("webhooks[\(index)]"))
            let endpoint = try parseWebhook(&reader, environment: environment, baseDirectory: baseDirectory)
            try reader.finish()
            guard names.insert(endpoint.name).inserted else {
                throw ConfigError(key: reader.keyPath("name"), "endpoint name '\(endpoint.name)' is used twice")
            }
            endpoints.append(endpoint)
        }
        return endpoints
    }

    private static func parseWebhook(
        _ reader: inout ConfigReader, environment: [String: String], baseDirectory: String
    ) throws(ConfigError) -> WebhookEndpoint {
        let name = try reader.requiredString("name")
        guard name.range(of: #"^[A-Za-z0-9._-]{1,64}$"#, options: .regularExpression) != nil else {
            throw ConfigError(key: reader.keyPath("name"), "use 1 to 64 letters, digits, '.', '_' or '-'")
        }
        let url = try GraphEndpoints.validatedWebhookURL(reader.requiredString("url"), key: reader.keyPath("url"))
        var secrets: [SecretSource] = []
        if var single = try reader.object("secret") {
            secrets.append(try parseSecretSource(&single, baseDirectory: baseDirectory))
        }
        if let list = reader.value("secrets") {
            guard case .array(let items) = list else {
                throw ConfigError(key: reader.keyPath("secrets"), "expected an array of secret sources")
            }
            for (index, item) in items.enumerated() {
                var source = try ConfigReader(item, path: reader.keyPath("secrets[\(index)]"))
                secrets.append(try parseSecretSource(&source, baseDirectory: baseDirectory))
            }
        }
        guard !secrets.isEmpty else {
            throw ConfigError(
                key: reader.keyPath("secret"),
                "is required: {\"file\": ...}, {\"environment\": ...} or "
                    + "{\"systemdCredential\": ...}; 'secrets' takes several during a rotation")
        }
        for source in secrets {
            do {
                _ = try WebhookSecret(reading: source, environment: environment)
            } catch {
                throw ConfigError(key: reader.keyPath("secret"), error.description)
            }
        }
        var endpoint = WebhookEndpoint(name: name, url: url, secrets: secrets)
        if let mode = try reader.string("mode") {
            guard let parsed = WebhookEndpoint.Mode(rawValue: mode) else {
                throw ConfigError(key: reader.keyPath("mode"), "'\(mode)' is not a mode (structured or batch)")
            }
            endpoint.mode = parsed
        }
        endpoint.maxBatchEvents = try reader.integer("maxBatchEvents", in: 1...10_000) ?? endpoint.maxBatchEvents
        endpoint.maxBatchBytes =
            try reader.integer("maxBatchBytes", in: 1024...64 * 1_048_576) ?? endpoint.maxBatchBytes
        endpoint.headers = try parseHeaders(&reader)
        endpoint.timeoutSeconds = try reader.number("timeoutSeconds", in: 0.1...600) ?? endpoint.timeoutSeconds
        endpoint.maxConcurrentUsers =
            try reader.integer("maxConcurrentUsers", in: 1...256) ?? endpoint.maxConcurrentUsers
        endpoint.retryWindowHours = try reader.number("retryWindowHours", in: 0...720) ?? endpoint.retryWindowHours
        endpoint.retryInitialSeconds =
            try reader.number("retryInitialSeconds", in: 0.01...3600) ?? endpoint.retryInitialSeconds
        endpoint.retryMaxSeconds = try reader.number("retryMaxSeconds", in: 0.01...86_400) ?? endpoint.retryMaxSeconds
        guard endpoint.retryMaxSeconds >= endpoint.retryInitialSeconds else {
            throw ConfigError(key: reader.keyPath("retryMaxSeconds"), "must not be below retryInitialSeconds")
        }
        endpoint.startFrom = try parseStartFrom(&reader)
        return endpoint
    }

    /// Reads `startFrom`: `now`, `snapshot` or an ISO-8601 time with a zone, not in the future (a start in the
    /// future would silently skip the changes until then).
    static func parseStartFrom(_ reader: inout ConfigReader, now: Timestamp = .now()) throws(ConfigError) -> StartFrom?
    {
        guard let text = try reader.string("startFrom") else { return nil }
        guard let start = StartFrom(text) else {
            throw ConfigError(
                key: reader.keyPath("startFrom"),
                "'\(text)' is not \"now\", \"snapshot\" or an ISO-8601 time with a zone such as 2026-11-29T08:00:00Z")
        }
        if case .time(let time) = start, time > now {
            throw ConfigError(key: reader.keyPath("startFrom"), "\(time.iso8601) is in the future")
        }
        return start
    }

    /// Reads one secret's source (exactly one of file, environment, systemdCredential; never an inline value).
    /// Shared by the sign-in credential and the webhook secrets.
    static func parseSecretSource(
        _ reader: inout ConfigReader, baseDirectory: String
    ) throws(ConfigError) -> SecretSource {
        var sources: [SecretSource] = []
        if let file = try reader.string("file") { sources.append(.file(resolve(file, against: baseDirectory))) }
        if let name = try reader.string("environment") { sources.append(.environment(name)) }
        if let name = try reader.string("systemdCredential") {
            guard !name.contains("/") else {
                throw ConfigError(key: reader.keyPath("systemdCredential"), "a credential name must not contain '/'")
            }
            sources.append(.systemdCredential(name))
        }
        if reader.has("value") {
            _ = reader.value("value")
            throw ConfigError(
                key: reader.keyPath("value"),
                "inline secrets are not accepted; use file, environment "
                    + "or systemdCredential")
        }
        try reader.finish()
        guard sources.count == 1, let source = sources.first else {
            throw ConfigError(
                key: reader.path,
                "give exactly one of 'file', 'environment' or 'systemdCredential' (found \(sources.count))")
        }
        return source
    }

    private static func parseHeaders(_ reader: inout ConfigReader) throws(ConfigError) -> [(
        name: String, value: String
    )] {
        guard let value = reader.value("headers") else { return [] }
        guard case .object(let object) = value else {
            throw ConfigError(key: reader.keyPath("headers"), "expected an object of header names to values")
        }
        let token = CharacterSet(
            charactersIn: "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var headers: [(name: String, value: String)] = []
        for name in object.keys.sorted() {
            let key = reader.keyPath("headers.\(name)")
            guard !name.isEmpty, name.unicodeScalars.allSatisfy(token.contains) else {
                throw ConfigError(key: key, "'\(name)' is not a valid header name")
            }
            guard !reservedHeaders.contains(name.lowercased()) else {
                throw ConfigError(key: key, "'\(name)' is set by presence-sync itself")
            }
            guard case .string(let text) = object[name] else {
                throw ConfigError(key: key, "expected a string value")
            }
            guard !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) else {
                throw ConfigError(key: key, "the value must not contain control characters (line breaks)")
            }
            headers.append((name, text))
        }
        return headers
    }
}

extension GraphEndpoints {
    /// A webhook URL: absolute, https (http only to loopback), no user info or fragment; a query is kept.
    static func validatedWebhookURL(_ text: String, key: String) throws(ConfigError) -> String {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else {
            throw ConfigError(key: key, "'\(text)' is not an absolute URL such as https://hooks.example.com/presence")
        }
        guard url.user == nil, url.password == nil, url.fragment == nil else {
            throw ConfigError(key: key, "must not carry user info or a fragment (put credentials in 'headers')")
        }
        switch scheme {
        case "https":
            return text
        case "http":
            guard isLoopback(host: host) else {
                throw ConfigError(key: key, "plain http is allowed only for loopback hosts, not \(host); use https")
            }
            return text
        default:
            throw ConfigError(key: key, "scheme '\(scheme)' is not supported; use https")
        }
    }
}
