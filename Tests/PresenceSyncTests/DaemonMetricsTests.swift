import Testing

@testable import PresenceSync

@Suite("DaemonMetrics: readiness and what the registry renders")
struct DaemonMetricsTests {
    static func summary(observed: Int, changes: Int = 0) -> CycleSummary {
        var summary = CycleSummary(number: 1, startedAt: .now(), users: 10)
        summary.observed = observed
        summary.changes = changes
        return summary
    }

    @Test("not ready before a cycle, ready after one that observed presence, stale after three intervals")
    func readiness() {
        let metrics = DaemonMetrics()
        #expect(metrics.notReadyReason() == "no successful cycle yet")
        metrics.cycleFinished(Self.summary(observed: 0), elapsed: .milliseconds(5), intervalSeconds: 10)
        #expect(metrics.notReadyReason() == "no successful cycle yet")
        metrics.cycleFinished(Self.summary(observed: 10, changes: 3), elapsed: .milliseconds(5), intervalSeconds: 10)
        #expect(metrics.notReadyReason() == nil)
        #expect(metrics.notReadyReason(now: .now + .seconds(29)) == nil)
        let stale = metrics.notReadyReason(now: .now + .seconds(31))
        #expect(stale?.contains("more than three intervals") == true)
    }

    @Test("a failed sign-in makes it unready until a sign-in works again")
    func signIn() {
        let metrics = DaemonMetrics()
        metrics.cycleFinished(Self.summary(observed: 10), elapsed: .milliseconds(5), intervalSeconds: 10)
        metrics.signInFinished(succeeded: false)
        #expect(metrics.notReadyReason() == "sign-in failing at the token endpoint")
        metrics.signInFinished(succeeded: true)
        #expect(metrics.notReadyReason() == nil)
        let text = metrics.registry.emitToString()
        #expect(text.contains("presence_sync_token_sign_ins_total 2"))
        #expect(text.contains("presence_sync_token_sign_in_failures_total 1"))
    }

    @Test("the sign-in state names the AADSTS code in /readyz's reason and sets the failing gauge")
    func signInState() {
        let metrics = DaemonMetrics()
        metrics.cycleFinished(Self.summary(observed: 10), elapsed: .milliseconds(5), intervalSeconds: 10)
        var state = SignInState()
        state.consecutiveFailures = 3
        state.lastFailure = .authentication(AuthenticationError(status: 401, aadstsCode: 7_000_215, detail: "wrong"))
        metrics.signInStateChanged(state)
        #expect(metrics.notReadyReason() == "sign-in failing at the token endpoint (AADSTS7000215)")
        #expect(metrics.registry.emitToString().contains("presence_sync_sign_in_failing 1"))
        metrics.signInStateChanged(SignInState(lastSuccess: .now))
        #expect(metrics.notReadyReason() == nil)
        #expect(metrics.registry.emitToString().contains("presence_sync_sign_in_failing 0"))
    }

    @Test("resolutions of the configured users are counted, with entries that failed or were not found")
    func resolutions() {
        let metrics = DaemonMetrics()
        var report = ResolutionReport()
        report.failed = ["group 6a0e0000-0000-4000-8000-00000000000a"]
        report.notFound = ["upn a@contoso.com", "upn b@contoso.com"]
        metrics.resolutionFinished(report)
        metrics.resolutionFinished(ResolutionReport())
        let text = metrics.registry.emitToString()
        #expect(text.contains("presence_sync_user_resolutions_total 2"))
        #expect(text.contains("presence_sync_user_resolution_failures_total 1"))
        #expect(text.contains("presence_sync_user_entries_not_found 0"))
    }

    @Test("responses are counted per status; two registries do not share values")
    func perStatusAndIsolated() {
        let first = DaemonMetrics()
        let second = DaemonMetrics()
        first.presenceBatchAnswered(status: 200, latency: .milliseconds(20))
        first.presenceBatchAnswered(status: 200, latency: .milliseconds(30))
        first.presenceBatchAnswered(status: 429, latency: .milliseconds(5))
        first.outboxBacklog(sink: "webhook:main", count: 7, oldest: nil)
        let text = first.registry.emitToString()
        #expect(text.contains(#"presence_sync_graph_responses_total{status="200"} 2"#))
        #expect(text.contains(#"presence_sync_graph_responses_total{status="429"} 1"#))
        #expect(text.contains("presence_sync_batch_latency_seconds_count 3"))
        #expect(text.contains(#"presence_sync_outbox_backlog{sink="webhook:main"} 7"#))
        #expect(!second.registry.emitToString().contains("graph_responses_total{"))
    }

    @Test("webhook requests and the events they carried are counted per endpoint and outcome")
    func deliveriesByOutcome() {
        let metrics = DaemonMetrics()
        metrics.webhookRequestFinished(endpoint: "crm", outcome: .delivered, events: 50)
        metrics.webhookRequestFinished(endpoint: "crm", outcome: .delivered, events: 1)
        metrics.webhookRequestFinished(endpoint: "crm", outcome: .retried, events: 3)
        metrics.webhookRequestFinished(endpoint: "audit", outcome: .deadLettered, events: 2)
        let text = metrics.registry.emitToString()
        #expect(text.contains(#"presence_sync_webhook_requests_total{endpoint="crm",outcome="delivered"} 2"#))
        #expect(text.contains(#"presence_sync_webhook_events_total{endpoint="crm",outcome="delivered"} 51"#))
        #expect(text.contains(#"presence_sync_webhook_requests_total{endpoint="crm",outcome="retried"} 1"#))
        #expect(text.contains(#"presence_sync_webhook_events_total{endpoint="audit",outcome="dead_lettered"} 2"#))
    }
}
