import Logging

extension Daemon {
    /// What the daemon needs to build its outbox readers, at start and on every reload.
    struct OutboxReaderFactory: Sendable {
        let store: PresenceStore
        /// Shared by every webhook dispatcher, kept for the daemon's whole life.
        let transport: WebhookTransport
        let extraSink: (any EventSink)?
        let environment: [String: String]
        /// Put on every row a PostgreSQL mirror writes.
        let tenantID: String
        let recorder: (any DeliveryRecorder)?
        let logger: Logger

        /// The readers `configuration` asks for: standard output (with the extra test sink, if any) and one
        /// dispatcher per webhook endpoint.
        ///
        /// Secrets are read here: a missing or malformed one fails with a `ConfigError` naming the endpoint and the
        /// secret's source, never its value (at start the daemon stops; on reload the old readers stay).
        func plans(for configuration: Configuration) throws(ConfigError) -> [OutboxReaders.Plan] {
            var plans: [OutboxReaders.Plan] = []
            let events = configuration.events
            let store = self.store
            let logger = self.logger
            if events.stdout || extraSink != nil {
                let sinks: [any EventSink] =
                    (events.stdout ? [StdoutSink(logger: logger)] : []) + [extraSink].compactMap { $0 }
                plans.append(
                    OutboxReaders.Plan(name: "stdout", settings: .standardOutput(stdout: events.stdout)) {
                        OutboxRelay(
                            name: "stdout", store: store, sink: MultiplexEventSink(sinks), source: events.source,
                            logger: logger)
                    })
            }
            for (index, endpoint) in events.webhooks.enumerated() {
                var loaded: [WebhookSecret] = []
                for source in endpoint.secrets {
                    do {
                        loaded.append(try WebhookSecret(reading: source, environment: environment))
                    } catch {
                        throw ConfigError(key: "events.webhooks[\(index)].secret", error.description)
                    }
                    if let warning = source.permissionWarning() { logger.warning("\(warning)") }
                }
                let secrets = loaded
                let transport = self.transport
                let recorder = self.recorder
                plans.append(
                    OutboxReaders.Plan(
                        name: endpoint.cursorName, settings: .webhook(endpoint, secretKeys: secrets.map(\.key))
                    ) {
                        WebhookDispatcher(
                            endpoint: endpoint, secrets: secrets, store: store, transport: transport,
                            source: events.source, logger: logger, recorder: recorder)
                    })
            }
            for mirror in events.postgresql {
                let recorder = self.recorder
                let environment = self.environment
                let tenantID = self.tenantID
                plans.append(
                    OutboxReaders.Plan(name: mirror.cursorName, settings: .postgresql(mirror)) {
                        PostgresMirror(
                            settings: mirror, store: store, tenantID: tenantID, environment: environment,
                            logger: logger, recorder: recorder)
                    })
            }
            return plans
        }
    }
}
