import Testing

@testable import PresenceSync

@Suite("RequestPacer: at most N request starts in any sliding window")
struct RequestPacerTests {
    static let t0 = ContinuousClock.now

    static func at(_ milliseconds: Int) -> ContinuousClock.Instant { t0 + .milliseconds(milliseconds) }

    @Test("below the limit a request may start now")
    func belowLimit() {
        #expect(RequestBudget.earliestStart(starts: [], now: Self.at(0), limit: 3, window: .seconds(1)) == nil)
        let starts = [Self.at(0), Self.at(10)]
        #expect(RequestBudget.earliestStart(starts: starts, now: Self.at(20), limit: 3, window: .seconds(1)) == nil)
    }

    @Test("at the limit the next start waits until the oldest counted start leaves the window")
    func atLimit() {
        let starts = [Self.at(0), Self.at(100), Self.at(200)]
        #expect(
            RequestBudget.earliestStart(starts: starts, now: Self.at(300), limit: 3, window: .seconds(1))
                == Self.at(1000))
        #expect(
            RequestBudget.earliestStart(starts: starts, now: Self.at(300), limit: 2, window: .seconds(1))
                == Self.at(1100))
    }

    @Test("starts older than the window no longer count")
    func expired() {
        let starts = [Self.at(0), Self.at(100), Self.at(1200)]
        #expect(RequestBudget.earliestStart(starts: starts, now: Self.at(1300), limit: 2, window: .seconds(1)) == nil)
    }

    @Test("the actor never lets more than the limit start within one window")
    func actorHonoursBudget() async throws {
        let pacer = RequestPacer(limit: 5, window: .milliseconds(300))
        var starts: [ContinuousClock.Instant] = []
        for _ in 0..<12 {
            try await pacer.acquire()
            starts.append(.now)
        }
        for (index, start) in starts.enumerated() where index >= 5 {
            #expect(start - starts[index - 5] >= .milliseconds(300))
        }
        #expect(await pacer.waits >= 2)
    }
}

@Suite("RequestPacer: throttling pauses everyone and halves the budget")
struct RequestPacerThrottlingTests {
    @Test("after throttled(for:) no request starts before the pause ends")
    func pause() async throws {
        let pacer = RequestPacer(limit: 100, window: .seconds(1))
        await pacer.throttled(for: .milliseconds(300))
        let started = ContinuousClock.now
        try await pacer.acquire()
        #expect(ContinuousClock.now - started >= .milliseconds(290))
        #expect(await pacer.throttles == 1)
        #expect(await pacer.waits >= 1)
    }

    @Test("the budget halves on each throttle (at least 1) and grows back by one per answered request")
    func budget() async {
        let pacer = RequestPacer(limit: 8, window: .seconds(1))
        await pacer.throttled(for: .zero)
        #expect(await pacer.currentLimit == 4)
        for _ in 0..<3 { await pacer.throttled(for: .zero) }
        #expect(await pacer.currentLimit == 1)
        for _ in 0..<20 { await pacer.answered() }
        #expect(await pacer.currentLimit == 8)
    }

    @Test("a shorter later pause does not cut an earlier longer one")
    func longestPauseWins() async throws {
        let pacer = RequestPacer(limit: 100, window: .seconds(1))
        await pacer.throttled(for: .milliseconds(300))
        await pacer.throttled(for: .milliseconds(10))
        let started = ContinuousClock.now
        try await pacer.acquire()
        #expect(ContinuousClock.now - started >= .milliseconds(290))
    }
}
