import Foundation

extension Configuration {
    /// Parses `events.postgresql`. Password sources are read now, so a missing one stops the start (exit 78);
    /// nothing connects to a server here (`check-config` runs without the network).
    static func parsePostgresMirrors(
        _ events: inout ConfigReader, environment: [String: String], baseDirectory: String
    ) throws(ConfigError) -> [PostgresMirrorSettings] {
        guard let value = events.value("postgresql") else { return [] }
        guard case .array(let items) = value else {
            throw ConfigError(
                key: events.keyPath("postgresql"), "expected an array of mirrors, found \(value.typeName)")
        }
        var mirrors: [PostgresMirrorSettings] = []
        var names = Set<String>()
        for (index, item) in items.enumerated() {
            var reader = try ConfigReader(item, path: events.keyPath("postgresql[\(index)]"))
            let mirror = try parsePostgresMirror(&reader, environment: environment, baseDirectory: baseDirectory)
            try reader.finish()
            guard names.insert(mirror.name).inserted else {
                throw ConfigError(key: reader.keyPath("name"), "mirror name '\(mirror.name)' is used twice")
            }
            mirrors.append(mirror)
        }
        return mirrors
    }

    private static func parsePostgresMirror(
        _ reader: inout ConfigReader, environment: [String: String], baseDirectory: String
    ) throws(ConfigError) -> PostgresMirrorSettings {
        let name = try reader.requiredString("name")
        guard name.range(of: #"^[A-Za-z0-9._-]{1,64}$"#, options: .regularExpression) != nil else {
            throw ConfigError(key: reader.keyPath("name"), "use 1 to 64 letters, digits, '.', '_' or '-'")
        }
        let url = try reader.requiredString("url")
        let parsed = try PostgresURL(url, key: reader.keyPath("url"))
        var password: SecretSource?
        if var source = try reader.object("password") {
            let secret = try parseSecretSource(&source, baseDirectory: baseDirectory)
            do {
                _ = try secret.read(environment: environment)
            } catch {
                throw ConfigError(key: reader.keyPath("password"), error.description)
            }
            password = secret
        }
        let tlsName = try reader.string("tls") ?? (parsed.address.isLocal ? "disable" : "verify-full")
        guard let tls = PostgresMirrorSettings.TLSMode(rawValue: tlsName) else {
            let names = PostgresMirrorSettings.TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigError(key: reader.keyPath("tls"), "'\(tlsName)' is not one of: \(names)")
        }
        var mirror = PostgresMirrorSettings(
            name: name, url: url, address: parsed.address, user: parsed.user, database: parsed.database,
            password: password, tls: tls)
        guard tls != .disable || mirror.isLocal else {
            throw ConfigError(
                key: reader.keyPath("tls"),
                "'disable' is allowed only over a Unix socket or to a loopback host; use require or verify-full")
        }
        if case .unixSocket = mirror.address, tls != .disable {
            throw ConfigError(key: reader.keyPath("tls"), "a Unix socket connection takes no TLS; use 'disable'")
        }
        if let caFile = try reader.string("caFile") {
            guard tls == .verifyFull else {
                throw ConfigError(key: reader.keyPath("caFile"), "is used only with tls 'verify-full'")
            }
            let path = resolve(caFile, against: baseDirectory)
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ConfigError(key: reader.keyPath("caFile"), "\(path) does not exist or is not readable")
            }
            mirror.caFile = path
        }
        if let schema = try reader.string("schema") {
            guard schema.range(of: #"^[a-z_][a-z0-9_]{0,62}$"#, options: .regularExpression) != nil else {
                throw ConfigError(
                    key: reader.keyPath("schema"),
                    "use 1 to 63 lower-case letters, digits or '_', starting with a letter or '_'")
            }
            guard !schema.hasPrefix("pg_") && schema != "information_schema" else {
                throw ConfigError(key: reader.keyPath("schema"), "'\(schema)' is reserved by PostgreSQL")
            }
            mirror.schema = schema
        }
        mirror.startFrom = try parseStartFrom(&reader)
        mirror.maxBatchEvents = try reader.integer("maxBatchEvents", in: 1...50_000) ?? mirror.maxBatchEvents
        mirror.connectTimeoutSeconds =
            try reader.number("connectTimeoutSeconds", in: 0.1...600) ?? mirror.connectTimeoutSeconds
        mirror.retryInitialSeconds =
            try reader.number("retryInitialSeconds", in: 0.01...600) ?? mirror.retryInitialSeconds
        mirror.retryMaxSeconds = try reader.number("retryMaxSeconds", in: 0.01...3600) ?? mirror.retryMaxSeconds
        return mirror
    }
}

/// A libpq-style connection URL without a password: `postgresql://user@host:port/database`, or a Unix socket as
/// `postgresql://user@/database?host=/run/postgresql` (the socket directory, as libpq takes it).
struct PostgresURL {
    var address: PostgresMirrorSettings.Address
    var user: String
    var database: String

    init(_ text: String, key: String) throws(ConfigError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw ConfigError(key: key, "is not a URL such as postgresql://user@db.example.com:5432/presence")
        }
        guard scheme == "postgresql" || scheme == "postgres" else {
            throw ConfigError(key: key, "scheme '\(scheme)' is not supported; use postgresql://")
        }
        guard components.password == nil else {
            throw ConfigError(
                key: key,
                "must not carry a password; give it in 'password' ({\"file\": ...}, {\"environment\": ...} or "
                    + "{\"systemdCredential\": ...})")
        }
        guard let user = components.user, !user.isEmpty else {
            throw ConfigError(key: key, "names no user (postgresql://USER@host/database)")
        }
        var database = components.path
        while database.hasPrefix("/") { database.removeFirst() }
        guard !database.isEmpty, !database.contains("/") else {
            throw ConfigError(key: key, "names no database (postgresql://user@host/DATABASE)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw ConfigError(key: key, "port \(port) is out of range") }
        var socketDirectory: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "host":
                guard let value = item.value, value.hasPrefix("/") else {
                    throw ConfigError(
                        key: key, "the 'host' parameter must be a socket directory such as /run/postgresql")
                }
                socketDirectory = value
            case "port":
                break
            default:
                throw ConfigError(
                    key: key,
                    "parameter '\(item.name)' is not supported here (TLS is the mirror's 'tls' key; only 'host' for a "
                        + "socket directory)")
            }
        }
        if let socketDirectory {
            guard components.host?.isEmpty ?? true else {
                throw ConfigError(key: key, "give either a host or a 'host=/socket/directory' parameter, not both")
            }
            var directory = socketDirectory
            while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
            address = .unixSocket(path: "\(directory)/.s.PGSQL.\(port)")
        } else {
            guard let host = components.host, !host.isEmpty else {
                throw ConfigError(key: key, "names no host (postgresql://user@HOST/database, or ?host=/socket/dir)")
            }
            address = .tcp(host: host, port: port)
        }
        self.user = user.removingPercentEncoding ?? user
        self.database = database.removingPercentEncoding ?? database
    }
}
