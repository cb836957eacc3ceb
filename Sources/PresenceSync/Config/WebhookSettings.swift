/// One webhook endpoint from `events.webhooks`: where events go, how they are signed and how hard to retry.
///
/// Each endpoint has its own outbox cursor, backlog and state, so one slow or dead receiver never holds back
/// another. Secrets are named by source only; they are read (and checked) at start and never kept here.
public struct WebhookEndpoint: Sendable, Equatable {
    /// How events are put into requests.
    public enum Mode: String, Sendable, CaseIterable {
        /// One event per request, `application/cloudevents+json`.
        case structured
        /// Several events per request, `application/cloudevents-batch+json` (a JSON array).
        case batch
    }

    /// A short unique name: the cursor name (`webhook:<name>`) and the label in logs and `outbox status`.
    public var name: String
    /// `https://...`, or `http://` to a loopback host.
    public var url: String
    /// Signing secrets (`whsec_...`); several during a rotation, one signature each.
    public var secrets: [SecretSource]
    /// One event per request (default) or several.
    public var mode: Mode = .structured
    /// Batch mode: at most this many events per request.
    public var maxBatchEvents: Int = 100
    /// Batch mode: at most this many body bytes per request (a single larger event still goes alone).
    public var maxBatchBytes: Int = 1_048_576
    /// Extra static headers sent with every request (e.g. an Authorization header), in config order.
    public var headers: [(name: String, value: String)] = []
    /// Time allowed for one request, connect to answer.
    public var timeoutSeconds: Double = 10
    /// Users whose events are in flight at once; events of one user always go one after another.
    public var maxConcurrentUsers: Int = 8
    /// How long a failing event is retried before it becomes a dead letter.
    public var retryWindowHours: Double = 24
    /// The first retry delay; each further retry doubles it, up to `retryMaxSeconds`.
    public var retryInitialSeconds: Double = 2
    /// The cap on the retry delay.
    public var retryMaxSeconds: Double = 600
    /// Where the endpoint starts the first time it is seen (no cursor yet); nil: the last
    /// `events.outboxRetentionHours` of events, as before `startFrom` existed.
    public var startFrom: StartFrom?

    public init(name: String, url: String, secrets: [SecretSource]) {
        self.name = name
        self.url = url
        self.secrets = secrets
    }

    /// The cursor of this endpoint in `outbox_cursors`.
    public var cursorName: String { "webhook:\(name)" }

    public static func == (lhs: WebhookEndpoint, rhs: WebhookEndpoint) -> Bool {
        lhs.name == rhs.name && lhs.url == rhs.url && lhs.secrets == rhs.secrets && lhs.mode == rhs.mode
            && lhs.maxBatchEvents == rhs.maxBatchEvents && lhs.maxBatchBytes == rhs.maxBatchBytes
            && lhs.headers.map(\.name) == rhs.headers.map(\.name)
            && lhs.headers.map(\.value) == rhs.headers.map(\.value)
            && lhs.timeoutSeconds == rhs.timeoutSeconds && lhs.maxConcurrentUsers == rhs.maxConcurrentUsers
            && lhs.retryWindowHours == rhs.retryWindowHours && lhs.retryInitialSeconds == rhs.retryInitialSeconds
            && lhs.retryMaxSeconds == rhs.retryMaxSeconds && lhs.startFrom == rhs.startFrom
    }
}

extension EventSettings {
    /// The cursor names of the configured sinks that read the outbox (`stdout`, `webhook:<name>`,
    /// `postgresql:<name>`).
    public var outboxSinks: [String] {
        (stdout ? ["stdout"] : []) + webhooks.map(\.cursorName) + postgresql.map(\.cursorName)
    }
}
