import Logging

extension Daemon {
    /// One dispatcher per configured webhook endpoint, sharing one HTTP client (nil when none is configured).
    ///
    /// Secrets are read here, at start: a missing or malformed one stops the daemon with a `ConfigError` naming the
    /// endpoint and the secret's source, never its value.
    static func makeWebhookDispatchers(
        _ configuration: Configuration, store: PresenceStore, environment: [String: String], logger: Logger
    ) throws(ConfigError) -> (dispatchers: [WebhookDispatcher], transport: WebhookTransport)? {
        let endpoints = configuration.events.webhooks
        guard !endpoints.isEmpty else { return nil }
        var secrets: [[WebhookSecret]] = []
        for (index, endpoint) in endpoints.enumerated() {
            var loaded: [WebhookSecret] = []
            for source in endpoint.secrets {
                do {
                    loaded.append(try WebhookSecret(reading: source, environment: environment))
                } catch {
                    throw ConfigError(key: "events.webhooks[\(index)].secret", error.description)
                }
                if let warning = source.permissionWarning() { logger.warning("\(warning)") }
            }
            secrets.append(loaded)
        }
        let transport = WebhookTransport()
        let dispatchers = zip(endpoints, secrets).map { endpoint, secrets in
            WebhookDispatcher(
                endpoint: endpoint, secrets: secrets, store: store, transport: transport,
                source: configuration.events.source, logger: logger)
        }
        return (dispatchers, transport)
    }
}
