import Foundation
import Logging

extension Configuration {
    /// Reads and validates a configuration file; every error names the file and the key.
    public static func load(
        file path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> Configuration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigError(file: path, key: nil, "cannot read the file (\(Self.reason(error)))")
        }
        do {
            return try parse(
                data, environment: environment, baseDirectory: (path as NSString).deletingLastPathComponent)
        } catch var error {
            error.file = path
            throw error
        }
    }

    /// Validates a configuration document. Relative paths in it resolve against `baseDirectory`.
    public static func parse(
        _ data: Data, environment: [String: String] = [:], baseDirectory: String = "."
    ) throws(ConfigError) -> Configuration {
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConfigError(key: nil, "not valid JSON (\(Self.reason(error)))")
        }
        var root = try ConfigReader(document, path: "")

        let tenantID = try root.requiredString("tenantId")
        let clientID = try root.requiredString("clientId")
        guard tenantID.range(of: #"^[A-Za-z0-9.-]+$"#, options: .regularExpression) != nil else {
            throw ConfigError(key: "tenantId", "expected a tenant GUID or domain name, found '\(tenantID)'")
        }
        guard UserIDs.isObjectID(clientID) else {
            throw ConfigError(key: "clientId", "expected the application (client) id, a GUID; found '\(clientID)'")
        }
        let credential = try parseCredential(&root, environment: environment, baseDirectory: baseDirectory)
        let endpoints = try parseEndpoints(&root)
        let selection = try parseUserSelection(&root, baseDirectory: baseDirectory)
        let databasePath = try parseDatabasePath(&root, environment: environment, baseDirectory: baseDirectory)
        let synchronousName = try root.string("databaseSynchronous") ?? SynchronousMode.full.rawValue
        guard let databaseSynchronous = SynchronousMode(rawValue: synchronousName.lowercased()) else {
            throw ConfigError(key: "databaseSynchronous", "'\(synchronousName)' is not one of: full, normal")
        }
        let polling = try parsePolling(&root)
        let events = try parseEvents(&root, tenantID: tenantID, environment: environment, baseDirectory: baseDirectory)
        let logLevel = try parseLogLevel(root.string("logLevel"), key: "logLevel") ?? .info
        let history = try parseHistory(&root)
        let observability = try parseObservability(&root)
        let userResolution = try parseUserResolution(&root)
        try root.finish()
        return Configuration(
            tenantID: tenantID, clientID: clientID, credential: credential, endpoints: endpoints,
            users: selection.objectIDs, userPrincipalNames: selection.userPrincipalNames, groups: selection.groups,
            userResolution: userResolution, databasePath: databasePath, databaseSynchronous: databaseSynchronous,
            polling: polling, events: events, logLevel: logLevel, history: history, observability: observability)
    }

    private static func parseObservability(_ root: inout ConfigReader) throws(ConfigError) -> ObservabilitySettings {
        var settings = ObservabilitySettings()
        guard var reader = try root.object("observability") else { return settings }
        if let text = try reader.string("listen") {
            guard let address = ListenAddress.parse(text) else {
                throw ConfigError(
                    key: reader.keyPath("listen"),
                    "'\(text)' is not host:port (e.g. 127.0.0.1:9464, [::1]:9464 or localhost:9464)")
            }
            settings.listen = address
        }
        try reader.finish()
        return settings
    }

    private static func parseHistory(_ root: inout ConfigReader) throws(ConfigError) -> HistorySettings {
        var settings = HistorySettings()
        guard var reader = try root.object("history") else { return settings }
        settings.retentionDays = try reader.integer("retentionDays", in: 1...36_500)
        try reader.finish()
        return settings
    }

    /// Parses a swift-log level name as used in the config and on the command line.
    public static func parseLogLevel(_ text: String?, key: String) throws(ConfigError) -> Logger.Level? {
        guard let text else { return nil }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigError(key: key, "'\(text)' is not a log level (one of: \(names))")
        }
        return level
    }

    private static func parseCredential(
        _ root: inout ConfigReader, environment: [String: String], baseDirectory: String
    ) throws(ConfigError) -> ClientCredentialSource {
        if root.has("clientSecret") {
            _ = root.value("clientSecret")
            throw ConfigError(
                key: "clientSecret",
                "inline secrets are not accepted (config files are often world-readable); use credential.file, "
                    + "credential.environment or credential.systemdCredential")
        }
        guard var reader = try root.object("credential") else {
            throw ConfigError(
                key: "credential",
                "is required, e.g. {\"type\": \"secret\", \"file\": \"/etc/presence-sync/client-secret\"} or "
                    + "{\"type\": \"certificate\", \"certificateFile\": \"/etc/presence-sync/app.crt\", "
                    + "\"file\": \"/etc/presence-sync/app.key\"}")
        }
        let type = try reader.string("type") ?? "secret"
        switch type {
        case "secret":
            return .secret(try parseSecretSource(&reader, baseDirectory: baseDirectory))
        case "certificate":
            return .certificate(
                try parseCertificate(&reader, environment: environment, baseDirectory: baseDirectory))
        default:
            throw ConfigError(key: reader.keyPath("type"), "'\(type)' is not supported (one of: secret, certificate)")
        }
    }

    /// `credential` with `type: "certificate"`: `certificateFile` (optional when the key's PEM also holds the
    /// certificate), the private key's source (`file`, `environment` or `systemdCredential`, as for a secret) and
    /// `algorithm`. The pair is loaded and checked now, so a bad one stops the start (exit 78).
    private static func parseCertificate(
        _ reader: inout ConfigReader, environment: [String: String], baseDirectory: String
    ) throws(ConfigError) -> CertificateCredential {
        let certificateFile = try reader.string("certificateFile").map { resolve($0, against: baseDirectory) }
        let algorithmName = try reader.string("algorithm") ?? ClientAssertionAlgorithm.ps256.rawValue
        guard let algorithm = ClientAssertionAlgorithm(rawValue: algorithmName.uppercased()) else {
            let names = ClientAssertionAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigError(key: reader.keyPath("algorithm"), "'\(algorithmName)' is not one of: \(names)")
        }
        let path = reader.path
        let privateKey = try parseSecretSource(&reader, baseDirectory: baseDirectory)
        let credential = CertificateCredential(
            certificateFile: certificateFile, privateKey: privateKey, algorithm: algorithm)
        do {
            _ = try credential.load(environment: environment)
        } catch {
            throw ConfigError(key: "\(path).\(error.key)", error.problem)
        }
        return credential
    }

    private static func parseEndpoints(_ root: inout ConfigReader) throws(ConfigError) -> GraphEndpoints {
        let cloudName = try root.string("cloud") ?? GraphEndpoints.Cloud.global.rawValue
        guard let cloud = GraphEndpoints.Cloud(rawValue: cloudName) else {
            let names = GraphEndpoints.Cloud.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigError(key: "cloud", "'\(cloudName)' is not a known cloud (one of: \(names))")
        }
        if cloud == .china {
            throw ConfigError(
                key: "cloud",
                "presence polling is not offered in the China (21Vianet) cloud: Microsoft does not provide "
                    + "getPresencesByUserId there")
        }
        let authority =
            try root.string("authorityHost").map { (text) throws(ConfigError) in
                try GraphEndpoints.validatedBaseURL(text, key: "authorityHost")
            } ?? cloud.authorityHost
        let graph =
            try root.string("graphBaseURL").map { (text) throws(ConfigError) in
                try GraphEndpoints.validatedBaseURL(text, key: "graphBaseURL")
            } ?? cloud.graphBaseURL
        let scope = try root.string("scope") ?? "\(graph)/.default"
        return GraphEndpoints(cloud: cloud, authorityHost: authority, graphBaseURL: graph, scope: scope)
    }

    private static func parseDatabasePath(
        _ root: inout ConfigReader, environment: [String: String], baseDirectory: String
    ) throws(ConfigError) -> String {
        if let path = try root.string("database") {
            if let state = environment["STATE_DIRECTORY"], !path.hasPrefix("/") {
                return resolve(path, against: state.split(separator: ":").first.map(String.init) ?? state)
            }
            return resolve(path, against: baseDirectory)
        }
        if let state = environment["STATE_DIRECTORY"], let first = state.split(separator: ":").first {
            return "\(first)/presence.db"
        }
        return "/var/lib/presence-sync/presence.db"
    }

    private static func parsePolling(_ root: inout ConfigReader) throws(ConfigError) -> PollingSettings {
        var settings = PollingSettings()
        guard var reader = try root.object("polling") else { return settings }
        if let name = try reader.string("mode") {
            guard let mode = PollingMode(rawValue: name) else {
                throw ConfigError(key: "polling.mode", "'\(name)' is not one of: fixed, adaptive")
            }
            settings.mode = mode
        }
        settings.budgetShare = try reader.number("budgetShare", in: 0.01...1) ?? settings.budgetShare
        settings.maxStalenessSeconds =
            try reader.number("maxStalenessSeconds", in: 1...86_400) ?? settings.maxStalenessSeconds
        settings.intervalSeconds = try reader.number("intervalSeconds", in: 0.1...86_400) ?? settings.intervalSeconds
        settings.batchSize = try reader.integer("batchSize", in: 1...650) ?? settings.batchSize
        settings.maxConcurrentRequests =
            try reader.integer("maxConcurrentRequests", in: 1...64) ?? settings.maxConcurrentRequests
        settings.requestBudget = try reader.integer("requestBudget", in: 1...1_000_000) ?? settings.requestBudget
        settings.budgetWindowSeconds =
            try reader.number("budgetWindowSeconds", in: 1...3600) ?? settings.budgetWindowSeconds
        settings.requestTimeoutSeconds =
            try reader.number("requestTimeoutSeconds", in: 1...600) ?? settings.requestTimeoutSeconds
        settings.connectTimeoutSeconds =
            try reader.number("connectTimeoutSeconds", in: 1...600) ?? settings.connectTimeoutSeconds
        settings.lastSeenWriteSeconds =
            try reader.number("lastSeenWriteSeconds", in: 0...86_400) ?? settings.lastSeenWriteSeconds
        settings.maxAttempts = try reader.integer("maxAttempts", in: 1...20) ?? settings.maxAttempts
        settings.retryInitialSeconds =
            try reader.number("retryInitialSeconds", in: 0.01...600) ?? settings.retryInitialSeconds
        settings.retryMaxSeconds = try reader.number("retryMaxSeconds", in: 0.01...3600) ?? settings.retryMaxSeconds
        try reader.finish()
        return settings
    }

    private static func parseEvents(
        _ root: inout ConfigReader, tenantID: String, environment: [String: String], baseDirectory: String
    ) throws(ConfigError) -> EventSettings {
        var settings = EventSettings(source: "urn:presence-sync:tenant:\(tenantID.lowercased())")
        guard var reader = try root.object("events") else { return settings }
        settings.stdout = try reader.bool("stdout") ?? settings.stdout
        settings.source = try reader.string("source") ?? settings.source
        settings.outboxRetentionHours =
            try reader.number("outboxRetentionHours", in: 0...87_600) ?? settings.outboxRetentionHours
        settings.webhooks = try parseWebhooks(&reader, environment: environment, baseDirectory: baseDirectory)
        settings.postgresql = try parsePostgresMirrors(
            &reader, environment: environment, baseDirectory: baseDirectory)
        try reader.finish()
        return settings
    }

    static func resolve(_ path: String, against base: String) -> String {
        if path.hasPrefix("/") || base.isEmpty { return path }
        return base == "." ? path : "\(base)/\(path)"
    }

    static func reason(_ error: any Error) -> String {
        if let decoding = error as? DecodingError, case .dataCorrupted(let context) = decoding {
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        }
        return (error as NSError).localizedDescription
    }
}
