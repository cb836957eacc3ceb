/// One PostgreSQL mirror from `events.postgresql`: a database server that receives every change, like a webhook
/// endpoint receives events, with its own outbox cursor, backlog and retries.
///
/// The connection URL carries no password (configs tend to be world-readable); it comes from `password`, a secret
/// source read at each connection attempt, so a rotated password file is picked up without a restart.
public struct PostgresMirrorSettings: Sendable, Equatable {
    /// How the connection is encrypted; the names are libpq's `sslmode` values.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// No TLS: allowed only over a Unix socket or to a loopback host, where nothing crosses a network.
        case disable
        /// TLS without checking the server's certificate (libpq's `require`): encrypted, not authenticated.
        case require
        /// TLS with the certificate checked against the trusted roots (or `caFile`) and the host name.
        case verifyFull = "verify-full"
    }

    /// Where the server listens.
    public enum Address: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The socket file itself (`<directory>/.s.PGSQL.<port>`), from a URL's `host=/directory` parameter.
        case unixSocket(path: String)

        /// A Unix socket or a loopback host: nothing crosses a network.
        public var isLocal: Bool {
            switch self {
            case .unixSocket: true
            case .tcp(let host, _): GraphEndpoints.isLoopback(host: host)
            }
        }
    }

    /// A short unique name: the cursor name (`postgresql:<name>`) and the label in logs, metrics and `outbox status`.
    public var name: String
    /// The URL as configured (no password in it), for logs and errors.
    public var url: String
    public var address: Address
    public var user: String
    public var database: String
    /// Where the password is read from; nil for servers that need none (peer or trust authentication).
    public var password: SecretSource?
    public var tls: TLSMode
    /// PEM file of the roots that `verify-full` trusts instead of the system's.
    public var caFile: String?
    /// The schema the mirror's tables live in, created and migrated by the daemon.
    public var schema: String = "presence_sync"
    /// Where a mirror seen for the first time starts: nil (the events of the outbox window, as a webhook without
    /// `startFrom`), `now`, `snapshot` (every tracked user's current row, then the changes) or a time.
    public var startFrom: StartFrom?
    /// At most this many changes per transaction.
    public var maxBatchEvents: Int = 2000
    /// Time allowed to connect and sign in.
    public var connectTimeoutSeconds: Double = 10
    /// The first wait after a failure; each further failure doubles it, up to `retryMaxSeconds`.
    public var retryInitialSeconds: Double = 1
    public var retryMaxSeconds: Double = 60

    public init(
        name: String, url: String, address: Address, user: String, database: String, password: SecretSource?,
        tls: TLSMode
    ) {
        self.name = name
        self.url = url
        self.address = address
        self.user = user
        self.database = database
        self.password = password
        self.tls = tls
    }

    /// The cursor of this mirror in `outbox_cursors`.
    public var cursorName: String { "postgresql:\(name)" }

    /// True when the server is reached without crossing a network (a Unix socket or a loopback host).
    public var isLocal: Bool { address.isLocal }
}
