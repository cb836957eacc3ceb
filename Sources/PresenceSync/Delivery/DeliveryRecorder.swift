/// Where webhook dispatchers report the outcome of each request, for the metrics endpoint.
///
/// Called once per request attempt (never per event), so an implementation may take a lock but must not block.
public protocol DeliveryRecorder: Sendable {
    /// One request to `endpoint` carrying `events` events ended with `outcome`.
    func webhookRequestFinished(endpoint: String, outcome: DeliveryOutcome, events: Int)
    /// The PostgreSQL mirror `sink` committed a page of `changes` changes.
    func postgresMirrorWrote(sink: String, changes: Int)
    /// The PostgreSQL mirror `sink` failed (connection, sign-in, schema or write) and will try again.
    func postgresMirrorFailed(sink: String)
}

/// How one webhook request ended, as counted in `presence_sync_webhook_requests_total{outcome=...}`.
public enum DeliveryOutcome: String, Sendable, CaseIterable {
    /// A 2xx: the events are delivered.
    case delivered
    /// A timeout, connection error, 5xx, 408/425/429: the request will be sent again.
    case retried
    /// Retries exhausted or a permanent 4xx: the events became dead letters.
    case deadLettered = "dead_lettered"
    /// A 410: the endpoint was disabled.
    case gone
}
