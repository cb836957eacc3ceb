import Logging

/// The daemon's validated configuration: everything `run` needs, with defaults applied.
///
/// Built only through `Configuration.load(file:)` / `parse(_:file:environment:)`, which reject unknown keys,
/// wrong types and impossible values; a value of this type is therefore always usable as it is.
public struct Configuration: Sendable, Equatable {
    /// The Entra tenant (directory) id or verified domain the application signs in to.
    public var tenantID: String
    /// The application (client) id of the app registration.
    public var clientID: String
    /// How the application proves its identity; the secret itself is read only when signing in.
    public var credential: ClientCredentialSource
    /// Where tokens come from and where Graph lives (cloud preset or explicit overrides).
    public var endpoints: GraphEndpoints
    /// The object ids of the users listed directly (`users`, `usersFile`), in configuration order, without
    /// duplicates. These are tracked without asking Graph.
    public var users: [String]
    /// User principal names listed in `users` / `usersFile`, resolved to object ids through Graph's `$batch`.
    public var userPrincipalNames: [String] = []
    /// Group object ids (`groups`) whose transitive user members are tracked.
    public var groups: [String] = []
    /// How often UPNs and groups are resolved again (`userResolution`).
    public var userResolution = UserResolutionSettings()
    /// The SQLite file holding current state and history.
    public var databasePath: String
    /// FULL (default): every commit is on disk before its events leave; NORMAL: faster, but the last commits
    /// may be lost on power loss.
    public var databaseSynchronous: SynchronousMode = .full
    public var polling: PollingSettings
    public var events: EventSettings
    public var logLevel: Logger.Level
    /// Automatic retention of the history (off unless configured).
    public var history = HistorySettings()
    /// The metrics and health endpoint (off unless configured).
    public var observability = ObservabilitySettings()
}

/// How often the tracked users are resolved again from UPNs and groups (`userResolution`).
public struct UserResolutionSettings: Sendable, Equatable {
    /// Seconds between two resolutions after a complete one (group memberships change, UPNs get renamed).
    public var intervalSeconds: Double = 3600
    /// Seconds before trying again after a resolution in which some UPN or group could not be read (Graph down,
    /// throttled); at most `intervalSeconds`.
    public var retrySeconds: Double = 60

    public init() {}
}

/// How long the history is kept (`history.retentionDays`).
public struct HistorySettings: Sendable, Equatable {
    /// When set, the daemon prunes closed history rows older than this many days, at start and once a day.
    public var retentionDays: Int?

    public init(retentionDays: Int? = nil) {
        self.retentionDays = retentionDays
    }
}

/// How the application proves its identity. Inline secrets and keys are refused: configs tend to be
/// world-readable.
public enum ClientCredentialSource: Sendable, Equatable {
    /// A client secret read from a file, an environment variable, or `$CREDENTIALS_DIRECTORY/<name>`.
    case secret(SecretSource)
    /// A certificate registered on the app and its private key, which signs a client assertion at each sign-in.
    case certificate(CertificateCredential)

    /// Where the secret material (client secret or private key) is read from.
    public var secretSource: SecretSource {
        switch self {
        case .secret(let source): source
        case .certificate(let credential): credential.privateKey
        }
    }
}

/// One place a secret can be read from at use time.
public enum SecretSource: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case environment(String)
    /// A systemd credential (`LoadCredential=`), read from `$CREDENTIALS_DIRECTORY/<name>`.
    case systemdCredential(String)

    /// Names where the secret comes from, never the secret.
    public var description: String {
        switch self {
        case .file(let path): "file \(path)"
        case .environment(let name): "environment variable \(name)"
        case .systemdCredential(let name): "systemd credential \(name)"
        }
    }
}

/// How often and how hard Graph is polled.
public struct PollingSettings: Sendable, Equatable {
    /// Fixed cycles on `intervalSeconds`, or adaptive polling within `budgetShare` of the budget.
    public var mode: PollingMode = .fixed
    /// Seconds from the start of one cycle to the start of the next; an overrunning cycle delays the next one
    /// (fixed mode).
    public var intervalSeconds: Double = 60
    /// The share of `requestBudget` adaptive polling uses, paced evenly; the rest is left to anything else using the
    /// same app registration.
    public var budgetShare: Double = 0.5
    /// In adaptive mode, no tracked user goes longer than this without being observed (when the budget share
    /// allows observing every user that often).
    public var maxStalenessSeconds: Double = 60
    /// Ids per getPresencesByUserId request; Graph accepts at most 650.
    public var batchSize: Int = 650
    /// Requests in flight at once within a cycle.
    public var maxConcurrentRequests: Int = 4
    /// At most this many requests are started in any sliding window of `budgetWindowSeconds`.
    public var requestBudget: Int = 1500
    public var budgetWindowSeconds: Double = 30
    /// Time allowed for one whole request (connect, send, answer).
    public var requestTimeoutSeconds: Double = 30
    /// Time allowed to establish a connection.
    public var connectTimeoutSeconds: Double = 10
    /// No longer used (accepted so that existing configurations stay valid): `presence_current.last_seen` is
    /// derived from the last sweep instead of being rewritten per user (schema 8).
    public var lastSeenWriteSeconds: Double = 300
    /// Attempts per batch and cycle, the first included, for 429, 5xx and connection failures (1: no retry).
    public var maxAttempts: Int = 4
    /// The first retry delay; each further retry doubles it (jittered), up to `retryMaxSeconds`.
    public var retryInitialSeconds: Double = 1
    /// The cap on a retry delay (a longer Retry-After still wins).
    public var retryMaxSeconds: Double = 60

    public init() {}

    /// Requests per second adaptive polling starts: `budgetShare` of the budget, evenly spread.
    public var adaptiveRequestsPerSecond: Double {
        Double(requestBudget) * budgetShare / budgetWindowSeconds
    }

    /// The pacer's limit per window: the whole budget in fixed mode, `budgetShare` of it (at least 1) in adaptive.
    public var pacedRequestLimit: Int {
        mode == .fixed ? requestBudget : max(1, Int((Double(requestBudget) * budgetShare).rounded(.down)))
    }
}

/// Where change events go.
public struct EventSettings: Sendable, Equatable {
    /// Write each change event as one CloudEvents JSON line to standard output.
    public var stdout: Bool = true
    /// The CloudEvents `source` attribute; defaults to a URN naming the tenant.
    public var source: String
    /// How long delivered events stay in the outbox before they are pruned (0: as soon as every sink has them).
    public var outboxRetentionHours: Double = 24
    /// Webhook endpoints fed from the outbox, each with its own cursor (`events.webhooks`).
    public var webhooks: [WebhookEndpoint] = []
    /// PostgreSQL databases that mirror the history, each with its own cursor (`events.postgresql`).
    public var postgresql: [PostgresMirrorSettings] = []

    public init(stdout: Bool = true, source: String) {
        self.stdout = stdout
        self.source = source
    }
}
