import PresenceSync
import Testing

/// The retry decision is a pure function: every row here is one situation and what must happen.
@Suite("Retry policy (backoff, jitter, Retry-After, dead letters)")
struct RetryPolicyTests {
    static let policy = RetryPolicy(initial: .seconds(2), maximum: .seconds(600), window: .seconds(86_400))

    @Test(
        "answers are classified",
        arguments: [
            (200, nil, RetryPolicy.Outcome.delivered),
            (204, nil, .delivered),
            (500, nil, .transient(reason: "HTTP 500", retryAfter: nil)),
            (503, 7, .transient(reason: "HTTP 503", retryAfter: .seconds(7))),
            (502, 7, .transient(reason: "HTTP 502", retryAfter: nil)),
            (429, 30, .transient(reason: "HTTP 429", retryAfter: .seconds(30))),
            (408, nil, .transient(reason: "HTTP 408", retryAfter: nil)),
            (410, nil, .gone),
            (400, nil, .permanent(reason: "HTTP 400")),
            (404, nil, .permanent(reason: "HTTP 404")),
            (301, nil, .permanent(reason: "HTTP 301")),
        ] as [(Int, Double?, RetryPolicy.Outcome)])
    func classify(status: Int, retryAfter: Double?, expected: RetryPolicy.Outcome) {
        #expect(RetryPolicy.outcome(status: status, retryAfterSeconds: retryAfter, transportError: nil) == expected)
    }

    @Test("no answer at all is transient and keeps the transport's reason")
    func noAnswer() {
        #expect(
            RetryPolicy.outcome(status: nil, retryAfterSeconds: nil, transportError: "connection refused")
                == .transient(reason: "connection refused", retryAfter: nil))
    }

    @Test(
        "backoff doubles from the first delay and is capped",
        arguments: [(1, 2), (2, 4), (3, 8), (4, 16), (8, 256), (9, 512), (10, 600), (11, 600), (60, 600)])
    func backoff(attempt: Int, seconds: Int64) {
        #expect(Self.policy.backoff(attempt: attempt) == .seconds(seconds))
    }

    @Test(
        "decisions",
        arguments: [
            // (outcome, attempt, elapsed s, jitter, expected)
            (RetryPolicy.Outcome.delivered, 3, 10, 0.5, RetryPolicy.Decision.done),
            (.transient(reason: "HTTP 500", retryAfter: nil), 1, 0, 0, .retry(after: .seconds(1))),
            (.transient(reason: "HTTP 500", retryAfter: nil), 1, 0, 1, .retry(after: .seconds(2))),
            (.transient(reason: "HTTP 500", retryAfter: nil), 3, 0, 0.5, .retry(after: .seconds(6))),
            (.transient(reason: "HTTP 500", retryAfter: nil), 20, 0, 1, .retry(after: .seconds(600))),
            // Retry-After is never undercut, and wins over a shorter backoff.
            (.transient(reason: "HTTP 429", retryAfter: .seconds(30)), 1, 0, 1, .retry(after: .seconds(30))),
            // ... but a longer backoff wins over a short Retry-After.
            (.transient(reason: "HTTP 429", retryAfter: .seconds(1)), 5, 0, 1, .retry(after: .seconds(32))),
            // The next try would land after the 24 h window: give up.
            (
                .transient(reason: "HTTP 500", retryAfter: nil), 30, 86_000, 1,
                .deadLetter(reason: "HTTP 500; gave up after 30 attempts")
            ),
            (
                .transient(reason: "HTTP 429", retryAfter: .seconds(3600)), 2, 84_000, 0,
                .deadLetter(reason: "HTTP 429; gave up after 2 attempts")
            ),
            (.permanent(reason: "HTTP 400"), 1, 0, 0.5, .deadLetter(reason: "HTTP 400")),
            (.gone, 1, 0, 0.5, .disableEndpoint),
        ] as [(RetryPolicy.Outcome, Int, Int64, Double, RetryPolicy.Decision)])
    func decide(
        outcome: RetryPolicy.Outcome, attempt: Int, elapsed: Int64, jitter: Double, expected: RetryPolicy.Decision
    ) {
        #expect(Self.policy.decide(outcome, attempt: attempt, elapsed: .seconds(elapsed), jitter: jitter) == expected)
    }

    @Test("jitter spreads the delay over the upper half of the backoff")
    func jitterRange() {
        for attempt in 1...12 {
            let backoff = Self.policy.backoff(attempt: attempt)
            for jitter in stride(from: 0.0, through: 1.0, by: 0.1) {
                guard
                    case .retry(let delay) = Self.policy.decide(
                        .transient(reason: "x", retryAfter: nil), attempt: attempt, elapsed: .zero, jitter: jitter)
                else {
                    Issue.record("no retry")
                    continue
                }
                #expect(delay >= backoff / 2 && delay <= backoff)
            }
        }
    }
}
