/// What a configuration reload (SIGHUP, `systemctl reload`) changes in a running daemon.
public struct ConfigurationReload: Sendable, Equatable {
    /// The configuration to run from the next cycle on: the new file's live settings on top of the running ones.
    public var configuration: Configuration
    /// Keys whose new values differ but take effect only after a restart (the running values stay).
    public var needsRestart: [String]
}

extension Configuration {
    /// Merges a newly loaded configuration into this running one, between two cycles.
    ///
    /// Live: the tracked users (ids, UPNs, groups, `userResolution`), `polling` (interval, batch size, concurrency,
    /// request budget), `logLevel` and the event sinks (`events.stdout`, `events.webhooks`). Everything bound to
    /// open resources (sign-in identity and secret, clouds and hosts, the database, HTTP timeouts, the event source
    /// name and outbox retention, the history schedule, settings added later) keeps
    /// its running value; the keys that differ are listed so the operator knows a restart is needed.
    public func reloaded(with new: Configuration) -> ConfigurationReload {
        var applied = self
        applied.users = new.users
        applied.userPrincipalNames = new.userPrincipalNames
        applied.groups = new.groups
        applied.userResolution = new.userResolution
        applied.polling.mode = new.polling.mode
        applied.polling.budgetShare = new.polling.budgetShare
        applied.polling.maxStalenessSeconds = new.polling.maxStalenessSeconds
        applied.polling.intervalSeconds = new.polling.intervalSeconds
        applied.polling.batchSize = new.polling.batchSize
        applied.polling.maxConcurrentRequests = new.polling.maxConcurrentRequests
        applied.polling.requestBudget = new.polling.requestBudget
        applied.polling.budgetWindowSeconds = new.polling.budgetWindowSeconds
        applied.polling.maxAttempts = new.polling.maxAttempts
        applied.polling.retryInitialSeconds = new.polling.retryInitialSeconds
        applied.polling.retryMaxSeconds = new.polling.retryMaxSeconds
        applied.logLevel = new.logLevel
        applied.events.stdout = new.events.stdout
        applied.events.webhooks = new.events.webhooks
        applied.events.postgresql = new.events.postgresql

        var restart: [String] = []
        func note(_ key: String, _ differs: Bool) { if differs { restart.append(key) } }
        note("tenantId", tenantID != new.tenantID)
        note("clientId", clientID != new.clientID)
        note("credential", credential != new.credential)
        note("cloud/authorityHost/graphBaseURL/scope", endpoints != new.endpoints)
        note("database", databasePath != new.databasePath)
        note("polling.requestTimeoutSeconds", polling.requestTimeoutSeconds != new.polling.requestTimeoutSeconds)
        note("polling.connectTimeoutSeconds", polling.connectTimeoutSeconds != new.polling.connectTimeoutSeconds)
        note("events.source", events.source != new.events.source)
        note("events.outboxRetentionHours", events.outboxRetentionHours != new.events.outboxRetentionHours)
        note("history", history != new.history)
        note("observability", observability != new.observability)
        // Settings this function does not know by name (added after it) are never applied live either.
        var named = applied
        named.tenantID = new.tenantID
        named.clientID = new.clientID
        named.credential = new.credential
        named.endpoints = new.endpoints
        named.databasePath = new.databasePath
        named.polling = new.polling
        named.events = new.events
        named.history = new.history
        named.observability = new.observability
        if named != new { restart.append("other settings") }
        return ConfigurationReload(configuration: applied, needsRestart: restart)
    }
}
