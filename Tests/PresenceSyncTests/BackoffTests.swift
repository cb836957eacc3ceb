import Testing

@testable import PresenceSync

/// The one backoff every retry in the daemon uses (Graph, webhooks, sign-in, directory reads).
@Suite("Backoff: exponential delays, capped, with equal jitter, never under a Retry-After")
struct BackoffTests {
    @Test("delays double from the initial one up to the maximum")
    func doubling() {
        let backoff = Backoff(initial: .seconds(1), maximum: .seconds(10))
        #expect((1...6).map { backoff.delay(attempt: $0) } == [1, 2, 4, 8, 10, 10].map { Duration.seconds($0) })
    }

    @Test("jitter keeps the delay between half and all of it; a longer Retry-After replaces it, a shorter does not")
    func jitterAndRetryAfter() {
        let backoff = Backoff(initial: .seconds(4), maximum: .seconds(60))
        #expect(backoff.wait(attempt: 1, jitter: 0, retryAfter: nil) == .seconds(2))
        #expect(backoff.wait(attempt: 1, jitter: 1, retryAfter: nil) == .seconds(4))
        #expect(backoff.wait(attempt: 1, jitter: 0.5, retryAfter: .seconds(30)) == .seconds(30))
        #expect(backoff.wait(attempt: 1, jitter: 1, retryAfter: .seconds(1)) == .seconds(4))
    }

    @Test("directory reads wait 1, 2, 4, 8 ... up to 60 s between attempts (the shared backoff, no jitter)")
    func resolutionDelays() {
        #expect((0...7).map { ResolutionBackoff.delay(attempt: $0) } == [1, 2, 4, 8, 16, 32, 60, 60])
    }
}
