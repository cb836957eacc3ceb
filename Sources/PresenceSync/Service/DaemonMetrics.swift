import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// The daemon's metrics, kept in a Prometheus registry of its own, and the state `/readyz` answers from.
///
/// Metrics are created through swift-metrics with this registry's factory passed explicitly: the global
/// `MetricsSystem` is never bootstrapped here, so several daemons can live in one process (tests). Every update is
/// per cycle, per request or per sign-in, never per user.
public final class DaemonMetrics: GraphMetricsRecorder, DeliveryRecorder {
    /// What `/metrics` renders.
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let cycles: CoreMetrics.Counter
    private let cycleDuration: CoreMetrics.Timer
    private let batchLatency: CoreMetrics.Timer
    private let budgetWaits: CoreMetrics.Counter
    private let throttled: CoreMetrics.Counter
    private let usersTracked: CoreMetrics.Gauge
    private let changes: CoreMetrics.Counter
    private let missingUsers: CoreMetrics.Counter
    /// Presence objects that left out a field (kept at its last known value), by field: created up front so that
    /// every field shows, with 0, before Graph first shortens an answer.
    private let fieldsOmitted: [(field: PresenceField, counter: CoreMetrics.Counter)]
    private let failedBatches: CoreMetrics.Counter
    /// getPresencesByUserId requests that got no answer at all (the responses counter has no status for them).
    private let batchTransportFailures: CoreMetrics.Counter
    private let signIns: CoreMetrics.Counter
    private let signInFailures: CoreMetrics.Counter
    /// 1 while sign-in fails (a backoff is running), 0 otherwise.
    private let signInFailing: CoreMetrics.Gauge
    private let lastSuccessfulCycle: CoreMetrics.Gauge
    /// getPresencesByUserId requests started, retries included.
    private let requests: CoreMetrics.Counter
    /// Requests per second over the last cycle or sweep.
    private let requestRate: CoreMetrics.Gauge
    /// Share of the app's request budget the last sweep used (adaptive polling).
    private let budgetUse: CoreMetrics.Gauge
    /// Seconds the least recently observed user had waited when the last sweep ended (adaptive polling).
    private let stalestUser: CoreMetrics.Gauge
    private let userResolutions: CoreMetrics.Counter
    /// Entries (UPNs, groups) that could not be read in a resolution; their previous users were kept.
    private let userResolutionFailures: CoreMetrics.Counter
    /// Entries the directory did not know at the last resolution.
    private let userEntriesNotFound: CoreMetrics.Gauge
    /// One counter per HTTP status seen, created on first use.
    private let responses = Mutex<[Int: CoreMetrics.Counter]>([:])
    /// One pair of gauges per outbox reader, created on first use.
    private let backlogs = Mutex<[String: (count: CoreMetrics.Gauge, age: CoreMetrics.Gauge)]>([:])
    /// One counter per (endpoint, outcome) for requests and for the events they carried, created on first use.
    private let deliveries = Mutex<[String: (requests: CoreMetrics.Counter, events: CoreMetrics.Counter)]>([:])
    /// One counter per PostgreSQL mirror and outcome (`written` changes, `failures`), created on first use.
    private let mirrorCounters = Mutex<[String: CoreMetrics.Counter]>([:])
    private let readiness = Mutex(Readiness())

    private struct Readiness {
        var lastSuccess: ContinuousClock.Instant?
        var intervalSeconds: Double = 60
        var signInFailing = false
        /// The AADSTS code of the failing sign-in, when Entra gave one.
        var signInFailureCode: Int?
    }

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["presence_sync_cycle_duration_seconds"] = [
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300),
        ]
        factory.durationHistogramBuckets["presence_sync_batch_latency_seconds"] = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
            .seconds(30),
        ]
        self.factory = factory
        func counter(_ name: String) -> CoreMetrics.Counter {
            CoreMetrics.Counter(label: "presence_sync_\(name)", factory: factory)
        }
        func gauge(_ name: String) -> CoreMetrics.Gauge {
            CoreMetrics.Gauge(label: "presence_sync_\(name)", factory: factory)
        }
        cycles = counter("cycles_total")
        cycleDuration = CoreMetrics.Timer(label: "presence_sync_cycle_duration_seconds", factory: factory)
        batchLatency = CoreMetrics.Timer(label: "presence_sync_batch_latency_seconds", factory: factory)
        budgetWaits = counter("budget_waits_total")
        throttled = counter("graph_throttled_total")
        usersTracked = gauge("users_tracked")
        changes = counter("changes_total")
        missingUsers = counter("missing_users_total")
        fieldsOmitted = OmissionCounts().byField.map { entry in
            (
                entry.field,
                CoreMetrics.Counter(
                    label: "presence_sync_fields_omitted_total", dimensions: [("field", entry.field.rawValue)],
                    factory: factory)
            )
        }
        failedBatches = counter("failed_batches_total")
        batchTransportFailures = counter("graph_transport_failures_total")
        signIns = counter("token_sign_ins_total")
        signInFailures = counter("token_sign_in_failures_total")
        signInFailing = gauge("sign_in_failing")
        lastSuccessfulCycle = gauge("last_successful_cycle_timestamp_seconds")
        requests = counter("graph_requests_total")
        requestRate = gauge("requests_per_second")
        budgetUse = gauge("budget_use_ratio")
        stalestUser = gauge("stalest_user_seconds")
        userResolutions = counter("user_resolutions_total")
        userResolutionFailures = counter("user_resolution_failures_total")
        userEntriesNotFound = gauge("user_entries_not_found")
    }

    /// Records a finished resolution of the configured users.
    func resolutionFinished(_ report: ResolutionReport) {
        userResolutions.increment()
        userResolutionFailures.increment(by: report.failed.count)
        userEntriesNotFound.record(report.notFound.count)
    }

    /// Records a finished cycle. A cycle counts as successful (for `/readyz` and the timestamp) when at least one
    /// batch was observed.
    func cycleFinished(_ summary: CycleSummary, elapsed: Duration, intervalSeconds: Double) {
        cycles.increment()
        cycleDuration.recordNanoseconds(Self.nanoseconds(elapsed))
        usersTracked.record(summary.users)
        changes.increment(by: summary.changes)
        missingUsers.increment(by: summary.missing)
        for (entry, omitted) in zip(fieldsOmitted, summary.omissions.byField) where omitted.count > 0 {
            entry.counter.increment(by: omitted.count)
        }
        failedBatches.increment(by: summary.failedBatches)
        budgetWaits.increment(by: summary.budgetWaits)
        throttled.increment(by: summary.throttled)
        requests.increment(by: summary.requests)
        let seconds = Double(Self.nanoseconds(elapsed)) / 1e9
        if seconds > 0 { requestRate.record(Double(summary.requests) / seconds) }
        if let use = summary.budgetUse { budgetUse.record(use) }
        if let stalest = summary.stalestSeconds { stalestUser.record(stalest) }
        let succeeded = summary.observed > 0
        if succeeded { lastSuccessfulCycle.record(Date().timeIntervalSince1970) }
        readiness.withLock { state in
            state.intervalSeconds = intervalSeconds
            if succeeded { state.lastSuccess = .now }
        }
    }

    /// Records the undelivered events of one outbox reader (`stdout`, `webhook:<name>`) and the oldest one's age.
    func outboxBacklog(sink: String, count: Int, oldest: Timestamp?) {
        let gauges = backlogs.withLock { gauges in
            if let existing = gauges[sink] { return existing }
            let made = (
                count: CoreMetrics.Gauge(
                    label: "presence_sync_outbox_backlog", dimensions: [("sink", sink)], factory: factory),
                age: CoreMetrics.Gauge(
                    label: "presence_sync_outbox_oldest_age_seconds", dimensions: [("sink", sink)], factory: factory)
            )
            gauges[sink] = made
            return made
        }
        gauges.count.record(count)
        let now = Timestamp.now().millisecondsSinceEpoch
        gauges.age.record(oldest.map { max(0, Double(now - $0.millisecondsSinceEpoch) / 1000) } ?? 0)
    }

    /// Records one webhook request's outcome: `presence_sync_webhook_requests_total` and
    /// `presence_sync_webhook_events_total`, both by endpoint and outcome.
    public func webhookRequestFinished(endpoint: String, outcome: DeliveryOutcome, events: Int) {
        let key = "\(endpoint)\u{0}\(outcome.rawValue)"
        let counters = deliveries.withLock { counters in
            if let existing = counters[key] { return existing }
            let dimensions = [("endpoint", endpoint), ("outcome", outcome.rawValue)]
            let made = (
                requests: CoreMetrics.Counter(
                    label: "presence_sync_webhook_requests_total", dimensions: dimensions, factory: factory),
                events: CoreMetrics.Counter(
                    label: "presence_sync_webhook_events_total", dimensions: dimensions, factory: factory)
            )
            counters[key] = made
            return made
        }
        counters.requests.increment()
        counters.events.increment(by: events)
    }

    /// Records a page the PostgreSQL mirror `sink` committed: `presence_sync_postgresql_changes_total{sink}`.
    public func postgresMirrorWrote(sink: String, changes: Int) {
        mirrorCounter("presence_sync_postgresql_changes_total", sink: sink).increment(by: changes)
    }

    /// Records a failure of the mirror `sink`: `presence_sync_postgresql_failures_total{sink}`.
    public func postgresMirrorFailed(sink: String) {
        mirrorCounter("presence_sync_postgresql_failures_total", sink: sink).increment()
    }

    private func mirrorCounter(_ label: String, sink: String) -> CoreMetrics.Counter {
        mirrorCounters.withLock { counters in
            let key = "\(label)\u{0}\(sink)"
            if let existing = counters[key] { return existing }
            let made = CoreMetrics.Counter(label: label, dimensions: [("sink", sink)], factory: factory)
            counters[key] = made
            return made
        }
    }

    public func presenceBatchAnswered(status: Int, latency: Duration) {
        batchLatency.recordNanoseconds(Self.nanoseconds(latency))
        let counter = responses.withLock { counters in
            if let existing = counters[status] { return existing }
            let made = CoreMetrics.Counter(
                label: "presence_sync_graph_responses_total", dimensions: [("status", "\(status)")], factory: factory)
            counters[status] = made
            return made
        }
        counter.increment()
    }

    public func presenceBatchFailed(latency: Duration) {
        batchLatency.recordNanoseconds(Self.nanoseconds(latency))
        batchTransportFailures.increment()
    }

    public func signInFinished(succeeded: Bool) {
        signIns.increment()
        if !succeeded { signInFailures.increment() }
        readiness.withLock { $0.signInFailing = !succeeded }
        signInFailing.record(succeeded ? 0 : 1)
    }

    public func signInStateChanged(_ state: SignInState) {
        readiness.withLock { readiness in
            readiness.signInFailing = state.isFailing
            readiness.signInFailureCode = state.aadstsCode
        }
        signInFailing.record(state.isFailing ? 1 : 0)
    }

    /// Nil when ready; otherwise a one-line reason. Ready: the last sign-in worked and a successful cycle finished
    /// within three intervals.
    public func notReadyReason(now: ContinuousClock.Instant = .now) -> String? {
        readiness.withLock { state in
            if state.signInFailing {
                return "sign-in failing at the token endpoint"
                    + (state.signInFailureCode.map { " (AADSTS\($0))" } ?? "")
            }
            guard let last = state.lastSuccess else { return "no successful cycle yet" }
            let age = now - last
            let limit = Duration.milliseconds(Int64(state.intervalSeconds * 3 * 1000))
            guard age <= limit else {
                return "last successful cycle \(age.components.seconds)s ago, more than three intervals"
            }
            return nil
        }
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}
