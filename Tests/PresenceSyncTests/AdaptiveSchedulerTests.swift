import Foundation
import Testing

@testable import PresenceSync

@Suite("AdaptiveScheduler: who the next request observes")
struct AdaptiveSchedulerTests {
    static func ids(_ count: Int) -> [String] {
        (0..<count).map { String(format: "%08x-0000-4000-8000-%012x", $0, $0) }
    }

    static let offline = PresenceState(availability: "Offline", activity: "Offline")
    static let available = PresenceState(availability: "Available", activity: "Available")

    @Test("a user who just changed is due again sooner than one offline and unchanged for hours")
    func recentChangeComesFirst() {
        var scheduler = AdaptiveScheduler(settings: .init(maxStalenessSeconds: 60, capacity: 100), now: 0)
        scheduler.track(Self.ids(100), now: 0)
        let (quiet, busy) = (0, 1)
        scheduler.observed(quiet, at: 0, changed: true, state: Self.offline)
        scheduler.observed(busy, at: 0, changed: true, state: Self.offline)
        for minute in 1...180 {
            let now = Double(minute * 60)
            scheduler.observed(quiet, at: now, changed: false)
            scheduler.observed(busy, at: now, changed: minute == 180, state: Self.available)
        }
        #expect(scheduler.dueTime(of: busy) < scheduler.dueTime(of: quiet))
        #expect(scheduler.changeRate(of: busy, at: 10_800) > 4 * scheduler.changeRate(of: quiet, at: 10_800))
        // Everyone else was never observed, so is due at 0: the two come after them, the changed one first.
        let order = scheduler.nextBatch(size: 100)
        #expect(order.suffix(2) == [busy, quiet])
    }

    @Test("a user who changes often is due sooner than one who rarely does, in the same state")
    func frequentChangerFirst() {
        var scheduler = AdaptiveScheduler(settings: .init(maxStalenessSeconds: 60, capacity: 100), now: 0)
        scheduler.track(Self.ids(10), now: 0)
        for second in stride(from: 0, through: 3600, by: 20) {
            let now = Double(second)
            scheduler.observed(0, at: now, changed: second % 60 == 0 && second < 3000, state: Self.available)
            scheduler.observed(1, at: now, changed: second == 0, state: Self.available)
        }
        #expect(scheduler.dueTime(of: 0) < scheduler.dueTime(of: 1))
    }

    @Test(
        "states change the rate: Offline and out of office a quarter, a call 1.5 times, Away twice",
        arguments: [
            (PresenceState(availability: "Offline", activity: "OffWork"), 0.25),
            (PresenceState(availability: "Available", activity: "Available", isOutOfOffice: true), 0.25),
            (PresenceState(availability: "Busy", activity: "InACall"), 1.5),
            (PresenceState(availability: "DoNotDisturb", activity: "Presenting"), 1.5),
            (PresenceState(availability: "Away", activity: "Away"), 2),
            (PresenceState(availability: "BeRightBack", activity: "BeRightBack"), 2),
            (PresenceState(availability: "Available", activity: "Available"), 1),
            (PresenceState(availability: "SomethingNew", activity: "Unknown"), 1),
        ] as [(PresenceState, Double)])
    func tendencies(state: PresenceState, factor: Double) {
        #expect(AdaptiveScheduler.Tendency(state)?.factor == factor)
    }

    @Test("an answer that left availability out keeps the last known tendency")
    func omittedAvailability() {
        #expect(AdaptiveScheduler.Tendency(PresenceState(availability: "", activity: "")) == nil)
    }

    @Test("the intervals spend the capacity exactly: every user once per bound, the rest by weight")
    func intervalsSpendCapacity() {
        var scheduler = AdaptiveScheduler(settings: .init(maxStalenessSeconds: 60, capacity: 500), now: 0)
        scheduler.track(Self.ids(1000), now: 0)
        for slot in 0..<1000 {
            scheduler.observed(slot, at: 0, changed: true, state: slot % 3 == 0 ? Self.offline : Self.available)
            scheduler.observed(slot, at: Double(slot % 7), changed: slot % 2 == 0)
        }
        var rate = 0.0
        for slot in 0..<1000 {
            let interval = scheduler.interval(weight: scheduler.weight(of: slot))
            #expect(interval <= scheduler.effectiveBound + 1e-9)
            #expect(interval > 0)
            rate += 1 / interval
        }
        #expect(abs(rate - 500) < 1e-6)
        // In the same state, a user seen changing twice weighs more than one seen changing once; offline weighs less.
        func weights(_ belongs: (Int) -> Bool) -> [Double] { (0..<1000).filter(belongs).map(scheduler.weight(of:)) }
        #expect(weights { $0 % 3 != 0 && $0 % 2 == 1 }.max()! < weights { $0 % 3 != 0 && $0 % 2 == 0 }.min()!)
        #expect(weights { $0 % 3 == 0 && $0 % 2 == 0 }.max()! < weights { $0 % 3 != 0 && $0 % 2 == 0 }.min()!)
    }

    @Test("a failed request's users are due again at once; missing users count for the sweep")
    func failedAndMissing() {
        var scheduler = AdaptiveScheduler(settings: .init(maxStalenessSeconds: 60, capacity: 100), now: 0)
        scheduler.track(Self.ids(4), now: 0)
        let batch = scheduler.nextBatch(size: 4)
        #expect(batch.count == 4)
        #expect(scheduler.waiting == 0)
        for slot in batch.prefix(2) { scheduler.failed(slot, at: 5) }
        #expect(scheduler.waiting == 2)
        #expect(scheduler.dueTime(of: batch[0]) == 5)
        #expect(scheduler.sweepRemaining == 4)
        scheduler.missed(batch[2], at: 5)
        let endedEarly = scheduler.observed(batch[3], at: 5, changed: false)
        #expect(!endedEarly)
        #expect(scheduler.sweepRemaining == 2)
        let again = scheduler.nextBatch(size: 4)
        #expect(Set(again.prefix(2)) == Set(batch.prefix(2)))
        let notYet = scheduler.observed(again[0], at: 6, changed: false)
        let ended = scheduler.observed(again[1], at: 6, changed: false)
        #expect(!notYet)
        #expect(ended)
        #expect(scheduler.sweep == 2)
        #expect(scheduler.sweepRemaining == 4)
        #expect(scheduler.sweepStartedAt == 6)
    }

    @Test("a new resolution keeps what was learned, adds new users due at once and drops the removed")
    func membership() {
        // Little capacity: a user observed is next due tens of seconds later.
        var scheduler = AdaptiveScheduler(settings: .init(maxStalenessSeconds: 60, capacity: 0.1), now: 0)
        let ids = Self.ids(6)
        scheduler.track(Array(ids.prefix(4)), now: 0)
        for slot in scheduler.nextBatch(size: 4) { scheduler.observed(slot, at: 1, changed: false) }
        #expect(scheduler.sweep == 2)
        let kept = scheduler.dueTime(of: scheduler.slot(of: ids[1])!)
        scheduler.track([ids[1], ids[4], ids[5]], now: 2)
        #expect(scheduler.count == 3)
        #expect(scheduler.slot(of: ids[0]) == nil)
        #expect(scheduler.dueTime(of: scheduler.slot(of: ids[1])!) == kept)
        #expect(scheduler.dueTime(of: scheduler.slot(of: ids[4])!) == 2)
        #expect(scheduler.sweepRemaining == 3)
        let first = scheduler.nextBatch(size: 2)
        #expect(first.map { scheduler.ids[$0] }.sorted() == [ids[4], ids[5]])
        // A user in flight across a new resolution is not handed out again until its answer is reported.
        let inFlight = scheduler.nextBatch(size: 1)
        #expect(inFlight.map { scheduler.ids[$0] } == [ids[1]])
        scheduler.track(scheduler.ids + [ids[0]], now: 3)
        let slot = scheduler.slot(of: ids[1])!
        let next = scheduler.nextBatch(size: 3)
        #expect(next.map { scheduler.ids[$0] } == [ids[0]], "only the new user; the others are in flight")
        scheduler.observed(slot, at: 4, changed: false)
        let again = scheduler.nextBatch(size: 3)
        #expect(again == [slot])
    }

    /// Users whose true change rates spread like a lognormal (σ 1.2), a third of them offline with a twentieth of
    /// the rate; a request of `batch` users every `period` seconds; answers arrive 50 ms later.
    struct Tenant {
        var rates: [Double]
        var changeTimes: [[Double]]

        init(users: Int, seconds: Double, seed: UInt64) {
            var random = FuzzRandom(seed: seed)
            rates = (0..<users).map { index in
                let u1 = max(1e-12, Double(random.next() >> 11) / Double(1 << 53))
                let u2 = Double(random.next() >> 11) / Double(1 << 53)
                let normal = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
                let perHour = 6 * exp(1.2 * normal)
                return (index % 3 == 0 ? perHour / 20 : perHour) / 3600
            }
            changeTimes = rates.map { rate in
                var times: [Double] = []
                var time = 0.0
                while true {
                    let u = max(1e-12, Double(random.next() >> 11) / Double(1 << 53))
                    time += -log(u) / rate
                    guard time < seconds else { break }
                    times.append(time)
                }
                return times
            }
        }
    }

    /// Runs `choose` against `tenant` and returns the mean and the largest detection delay over every change
    /// observed (time from the change to the first observation after it), and the longest gap between two
    /// observations of one user.
    static func run(
        _ tenant: Tenant, seconds: Double, period: Double, batch: Int,
        choose: (Double) -> [Int], report: (Int, Double, Bool) -> Void
    ) -> (meanDelay: Double, longestGap: Double, p50: Double, p99: Double, detected: Int, total: Int) {
        let users = tenant.rates.count
        var lastObserved = [Double](repeating: 0, count: users)
        var nextChange = [Int](repeating: 0, count: users)
        var delays = 0.0
        var detected = 0
        var all: [Double] = []
        var longestGap = 0.0
        var now = 0.0
        while now < seconds {
            let answered = now + 0.05
            for user in choose(now) {
                var changed = false
                let times = tenant.changeTimes[user]
                // A change counts once, at its first observation; later changes before this one are missed.
                if nextChange[user] < times.count && times[nextChange[user]] <= answered {
                    var last = nextChange[user]
                    while last + 1 < times.count && times[last + 1] <= answered { last += 1 }
                    delays += answered - times[last]
                    all.append(answered - times[last])
                    detected += 1
                    changed = true
                    nextChange[user] = last + 1
                }
                longestGap = max(longestGap, answered - lastObserved[user])
                lastObserved[user] = answered
                report(user, answered, changed)
            }
            now += period
        }
        for user in 0..<users { longestGap = max(longestGap, seconds - lastObserved[user]) }
        all.sort()
        let total = tenant.changeTimes.reduce(0) { $0 + $1.count }
        return (
            delays / Double(max(1, detected)), longestGap, all.isEmpty ? 0 : all[all.count / 2],
            all.isEmpty ? 0 : all[all.count * 99 / 100], detected, total
        )
    }

    @Test("over simulated minutes: no user waits past the bound, every request is full, and changes are seen sooner")
    func simulatedTenant() {
        let (users, seconds, period, batch) = (3000, 1200.0, 0.5, 200)
        let tenant = Tenant(users: users, seconds: seconds, seed: 2026)
        var scheduler = AdaptiveScheduler(
            settings: .init(maxStalenessSeconds: 60, capacity: Double(batch) / period), now: 0)
        scheduler.track(Self.ids(users), now: 0)
        var partialBatches = 0
        let adaptive = Self.run(
            tenant, seconds: seconds, period: period, batch: batch,
            choose: { _ in
                let chosen = scheduler.nextBatch(size: batch)
                if chosen.count < batch { partialBatches += 1 }
                return chosen
            },
            report: { user, now, changed in
                scheduler.observed(user, at: now, changed: changed, state: changed ? Self.available : nil)
            })
        #expect(adaptive.longestGap <= 60)
        #expect(partialBatches == 0)
        // The same requests in a fixed round robin: every user every users / batch × period seconds.
        var next = 0
        let fixed = Self.run(
            tenant, seconds: seconds, period: period, batch: batch,
            choose: { _ in
                defer { next = (next + batch) % users }
                return (next..<next + batch).map { $0 % users }
            },
            report: { _, _, _ in })
        // The median change is seen at least 1.5 times sooner (the target), the mean no later, and more
        // changes are seen at all.
        #expect(adaptive.p50 * 1.5 < fixed.p50, "median: adaptive \(adaptive.p50) s, fixed \(fixed.p50) s")
        #expect(
            adaptive.meanDelay <= fixed.meanDelay, "mean: adaptive \(adaptive.meanDelay) s, fixed \(fixed.meanDelay) s")
        #expect(adaptive.detected > fixed.detected)
    }
}

extension Array {
    /// The index of the first element for which `belongs` holds, in an array where it holds for a suffix.
    func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var (low, high) = (0, count)
        while low < high {
            let middle = (low + high) / 2
            if belongs(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

@Suite("RequestBudget: the pacer's rules over a simulated hour")
struct RequestBudgetTests {
    @Test(
        "a request every 40 ms for an hour with 429 storms: never over the limit in any window, never before a Retry-After"
    )
    func simulatedHour() {
        let origin = ContinuousClock.now
        let window = Duration.seconds(30)
        var budget = RequestBudget(limit: 750, window: window)
        var random = FuzzRandom(seed: 429)
        var starts: [ContinuousClock.Instant] = []
        var pauses: [(from: ContinuousClock.Instant, until: ContinuousClock.Instant)] = []
        var now = origin
        var nextTick = origin
        let end = origin + .seconds(3600)
        while now < end {
            if let wait = budget.start(at: now) {
                #expect(wait > now)
                now = wait
                continue
            }
            starts.append(now)
            // One answer in 200 is a 429 with a Retry-After of 1 to 10 s, arriving 30 to 300 ms after the start.
            let answeredAt = now + .milliseconds(30 + random.below(270))
            if random.below(200) == 0 {
                let retryAfter = Duration.seconds(1 + random.below(10))
                budget.throttled(for: retryAfter, answeredAt: answeredAt)
                pauses.append((answeredAt, answeredAt + retryAfter))
            } else {
                budget.answered()
            }
            nextTick += .milliseconds(40)
            now = max(now, nextTick)
        }
        #expect(starts.count > 20_000)
        var oldest = 0
        for (index, start) in starts.enumerated() {
            while starts[oldest] + window <= start { oldest += 1 }
            #expect(index - oldest + 1 <= 750)
        }
        // The pause is known from the moment the answer arrives: no start after that and before it ends.
        for pause in pauses {
            let first = starts.partitioningIndex { $0 >= pause.from }
            #expect(first == starts.endIndex || starts[first] >= pause.until)
        }
        #expect(!pauses.isEmpty)
    }
}
