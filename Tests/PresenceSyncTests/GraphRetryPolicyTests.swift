import Testing

@testable import PresenceSync

@Suite("GraphRetryPolicy: which failures are retried, after how long")
struct GraphRetryPolicyTests {
    static let policy = GraphRetryPolicy(maxAttempts: 4, initial: .seconds(1), maximum: .seconds(5))

    static func status(_ code: Int, retryAfter: Double? = nil) -> GraphError {
        .status(code, code: nil, message: nil, requestID: "r", retryAfterSeconds: retryAfter)
    }

    @Test(
        "delays double from `initial` up to `maximum`, jittered over their upper half",
        arguments: [
            (1, 0.0, 500), (1, 1.0, 1000), (2, 0.0, 1000), (2, 1.0, 2000), (3, 1.0, 4000), (4, 1.0, 5000),
        ])
    func backoff(attempt: Int, jitter: Double, milliseconds: Int64) {
        let policy = GraphRetryPolicy(maxAttempts: 10, initial: .seconds(1), maximum: .seconds(5))
        #expect(
            policy.decide(.transport(url: "u", reason: "refused"), attempt: attempt, jitter: jitter)
                == .retry(after: .milliseconds(milliseconds), throttled: false))
    }

    @Test("a 429 is throttling; its Retry-After wins over a shorter backoff and is never undercut")
    func tooManyRequests() {
        #expect(
            Self.policy.decide(Self.status(429, retryAfter: 7), attempt: 1, jitter: 1)
                == .retry(after: .seconds(7), throttled: true))
        #expect(
            Self.policy.decide(Self.status(429, retryAfter: 0.2), attempt: 2, jitter: 0)
                == .retry(after: .seconds(1), throttled: true))
        #expect(
            Self.policy.decide(Self.status(429), attempt: 1, jitter: 1) == .retry(after: .seconds(1), throttled: true))
    }

    @Test("5xx is retried; a 503 with Retry-After counts as throttling, 500/502/504 do not")
    func serverErrors() {
        #expect(
            Self.policy.decide(Self.status(503, retryAfter: 3), attempt: 1, jitter: 1)
                == .retry(after: .seconds(3), throttled: true))
        for code in [500, 502, 503, 504] {
            #expect(
                Self.policy.decide(Self.status(code), attempt: 1, jitter: 1)
                    == .retry(after: .seconds(1), throttled: false))
        }
    }

    @Test("after maxAttempts the batch is given up")
    func bounded() {
        #expect(Self.policy.decide(Self.status(503), attempt: 3, jitter: 0) != .giveUp)
        #expect(Self.policy.decide(Self.status(503), attempt: 4, jitter: 0) == .giveUp)
        #expect(Self.policy.decide(Self.status(429, retryAfter: 1), attempt: 4, jitter: 0) == .giveUp)
    }

    @Test("client errors, malformed answers, sign-in failures and cancellation are not retried")
    func notRetried() {
        for error in [
            Self.status(400), Self.status(403), Self.status(404), .malformedAnswer(reason: "x", requestID: nil),
            .authentication(AuthenticationError(detail: "no")), .cancelled,
        ] as [GraphError] {
            #expect(Self.policy.decide(error, attempt: 1, jitter: 0) == .giveUp, "\(error)")
        }
    }
}
