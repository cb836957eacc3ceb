import Foundation

/// Chooses the users each request of adaptive polling observes: those most likely to have changed since they were
/// last observed, and every user at least once per staleness bound.
///
/// **The model.** Each user has a change rate λ (changes per second), estimated from its own observations: the
/// changes seen over the time observed, both decayed with a half-life of about 20 minutes, plus a weak prior of
/// two changes an hour. λ is scaled by what the user is doing now (Offline or out of office: a quarter; in a call
/// or meeting: 1.5×; Away or Be right back: 2×, people come back) and by how recently it changed (up to 4× just
/// after a change, fading over minutes). The user is observed again after an interval
///
///     I = 1 / (1 / S + C' · w / Σw),  w = λ^¾
///
/// where S is the staleness bound (less a margin), C' the observations per second the budget leaves after every user
/// got its one per S, and the sum runs over all tracked users. So the budget is used exactly (Σ 1/I = capacity),
/// every user is observed within S, and the rest goes to users in proportion to w = λ^¾. (With w = √λ the mean time
/// to notice a change is smallest; ¾ buys a lower median, since most changes are the busiest users', for a longer
/// tail: see `Settings.weightExponent`.)
///
/// **The mechanics.** Each user waits in a min-heap keyed by the time its interval runs out; a request takes the
/// users with the smallest keys, due or not, so every request is full and the budget share is used. A taken user
/// is in flight until its answer is reported (`observed`, `missed`) or its request failed (`failed`, due again at
/// once). Times are seconds on any monotonic clock; the type has no clock, no lock and no I/O, so tests drive it
/// through a simulated hour in microseconds.
///
/// **Sweeps.** A sweep ends when every tracked user has been answered for (observed or reported missing) since
/// it started; `poll_cycles` records one row per sweep, so `last_seen` keeps its meaning.
struct AdaptiveScheduler {
    /// What the scheduler needs of the configuration; replaceable between requests.
    struct Settings: Equatable {
        /// No tracked user goes longer than this without being observed (when the budget allows it).
        var maxStalenessSeconds: Double
        /// Observations per second the budget share allows: requests per second × ids per request.
        var capacity: Double
        /// Beyond the staleness floor, polling rate ∝ λ^exponent. ½ minimises the mean detection delay; larger
        /// values favour the busiest users, which lowers the median (most changes are theirs) and raises the tail.
        /// Measured on the working-day tenant at 100,000 users (p50 / p99): ½ 1.96 / 12.0 s, ¾ 1.65 / 18.0 s,
        /// 1 1.44 / 25.1 s, fixed polling 2.73 / 6.1 s. ¾ keeps the tail well inside the bound.
        var weightExponent = 0.75
    }

    /// A user's state as far as it predicts changes.
    enum Tendency: UInt8 {
        case unknown, available, engaged, away, offline

        /// The rate multiplier of this state.
        var factor: Double {
            switch self {
            case .unknown, .available: 1
            case .engaged: 1.5
            case .away: 2
            case .offline: 0.25
            }
        }

        /// The tendency of a presence state; nil when the answer left availability out (keep the last one).
        init?(_ state: PresenceState) {
            if state.isOutOfOffice {
                self = .offline
                return
            }
            switch state.availability {
            case "": return nil
            case "Available", "AvailableIdle": self = .available
            case "Busy", "BusyIdle", "DoNotDisturb": self = .engaged
            case "Away", "BeRightBack": self = .away
            case "Offline", "PresenceUnknown": self = .offline
            default: self = .unknown
            }
        }
    }

    /// The prior: `priorChanges` changes over `priorSeconds` (two an hour, weighing as a quarter of a change).
    static let priorChanges = 0.25
    static let priorSeconds = 450.0
    /// Time constant of the decay of a user's counts (half-life ≈ 0.69 × this).
    static let decaySeconds = 1800.0
    /// Just after a change a user's rate is up to 1 + `recencyBoost` times higher, fading with this time constant.
    static let recencyBoost = 3.0
    static let recencySeconds = 300.0

    private(set) var settings: Settings
    /// The tracked users' ids, by slot.
    private(set) var ids: [String] = []
    /// When each user was last observed (or added, before its first observation).
    private var lastObserved: [Double] = []
    private var everObserved: [Bool] = []
    /// When each user was last seen changing; -infinity when never.
    private var lastChange: [Double] = []
    /// Decayed count of changes seen, and decayed seconds observed over.
    private var changes: [Double] = []
    private var observedSeconds: [Double] = []
    private var tendency: [Tendency] = []
    /// Each user's weight λ^exponent as last computed, and their sum over all tracked users.
    private var weight: [Double] = []
    private var weightSum = 0.0
    /// When each user is next due.
    private var due: [Double] = []
    /// Min-heap of (due, slot) entries. Entries carry their due time, so sifting reads one contiguous array
    /// instead of jumping into `due` (a pop at 100,000 users was a cache miss per level), and a version: a user
    /// put back with a new due time gets a new entry, and the old one is skipped when it surfaces.
    private var heap: [HeapEntry] = []
    private var version: [UInt32] = []
    private var inFlight: [Bool] = []
    private var inFlightCount = 0
    /// The sweep each user was last answered for.
    private var sweepMark: [Int] = []
    /// The running sweep: its number, start and how many users it still waits for.
    private(set) var sweep = 1
    private(set) var sweepStartedAt: Double
    private(set) var sweepRemaining = 0

    init(settings: Settings, now: Double) {
        self.settings = settings
        self.sweepStartedAt = now
    }

    /// Number of tracked users.
    var count: Int { ids.count }

    /// Users waiting to be taken (not in flight).
    var waiting: Int { ids.count - inFlightCount }

    // MARK: Choosing

    /// Takes up to `size` users with the earliest due times (due or not); they are in flight until reported.
    mutating func nextBatch(size: Int) -> [Int] {
        var batch: [Int] = []
        batch.reserveCapacity(min(size, heap.count))
        while batch.count < size, let slot = popFirst() { batch.append(slot) }
        return batch
    }

    /// User `slot`'s weight, λ^exponent as last computed.
    func weight(of slot: Int) -> Double { weight[slot] }

    /// When user `slot` is next due (its last key while in flight).
    func dueTime(of slot: Int) -> Double { due[slot] }

    /// The slot of `id`, by a linear search (tests).
    func slot(of id: String) -> Int? { ids.firstIndex(of: id) }

    /// Seconds since the least recently observed user was observed (or added); 0 without users.
    func stalestAge(now: Double) -> Double {
        guard let oldest = lastObserved.min() else { return 0 }
        return max(0, now - oldest)
    }

    // MARK: Reporting

    /// User `slot` was observed at `now`; `changed` when its answer differed from the last, with its new state.
    /// Returns true when this observation completed the running sweep (a new one has started).
    @discardableResult
    mutating func observed(_ slot: Int, at now: Double, changed: Bool, state: PresenceState? = nil) -> Bool {
        if everObserved[slot] {
            let elapsed = max(0, now - lastObserved[slot])
            let decay = exp(-elapsed / Self.decaySeconds)
            changes[slot] = changes[slot] * decay + (changed ? 1 : 0)
            observedSeconds[slot] = observedSeconds[slot] * decay + elapsed
        }
        everObserved[slot] = true
        lastObserved[slot] = now
        if changed {
            lastChange[slot] = now
            if let state, let new = Tendency(state) { tendency[slot] = new }
        }
        requeue(slot, at: now)
        return answered(slot, at: now)
    }

    /// User `slot` was requested but the answer did not hold it: it counts for the sweep (Graph was asked) and
    /// is asked again after its usual interval. Returns true when the sweep completed.
    @discardableResult
    mutating func missed(_ slot: Int, at now: Double) -> Bool {
        requeue(slot, at: now)
        return answered(slot, at: now)
    }

    /// User `slot`'s request failed: it is due again at once and not answered for in this sweep.
    mutating func failed(_ slot: Int, at now: Double) {
        guard inFlight[slot] else { return }
        due[slot] = now
        push(slot)
    }

    /// The estimated change rate of user `slot` at `now`, in changes per second.
    func changeRate(of slot: Int, at now: Double) -> Double {
        let base = (changes[slot] + Self.priorChanges) / (observedSeconds[slot] + Self.priorSeconds)
        let sinceChange = now - lastChange[slot]
        let recency = 1 + Self.recencyBoost * exp(-max(0, sinceChange) / Self.recencySeconds)
        return base * tendency[slot].factor * recency
    }

    /// The weight of a user changing at `rate`: λ^exponent.
    func weight(rate: Double) -> Double {
        switch settings.weightExponent {
        case 0.5: return rate.squareRoot()
        // x^¾ = √x · ⁴√x: two square roots are several times cheaper than `pow`, and this runs per observation.
        case 0.75:
            let root = rate.squareRoot()
            return root * root.squareRoot()
        default: return pow(rate, settings.weightExponent)
        }
    }

    /// The interval after which a user with weight `weight` is due again.
    func interval(weight: Double) -> Double {
        let bound = effectiveBound
        let floorRate = Double(ids.count) / bound
        let rest = max(0, settings.capacity - floorRate)
        guard weightSum > 0, rest > 0 else { return bound }
        return 1 / (1 / bound + rest * weight / weightSum)
    }

    /// The staleness bound less a margin for queueing: 90 % of it, at least one second less when it allows.
    var effectiveBound: Double {
        let bound = settings.maxStalenessSeconds
        return max(min(bound * 0.9, bound - 1), bound * 0.5)
    }

    // MARK: Membership and settings

    /// Replaces the settings; intervals computed from now on use them.
    mutating func update(_ settings: Settings) { self.settings = settings }

    /// Makes `newIDs` the tracked users: users kept keep what was learned about them and their place in the sweep,
    /// new ones are due at once, removed ones are forgotten. Slots change: a caller holding slots of a batch taken
    /// before this call maps its users again by id to report them (users in flight stay in flight until then).
    /// Returns true when the change completed the running sweep (its last unanswered users left).
    @discardableResult
    mutating func track(_ newIDs: [String], now: Double) -> Bool {
        // A resolution that found the same users (the usual case, and the first one after start): nothing to do,
        // and no second copy of every array at 100,000 users.
        if newIDs == ids { return false }
        var old: [String: Int] = [:]
        old.reserveCapacity(ids.count)
        for (slot, id) in ids.enumerated() { old[id] = slot }
        var rebuilt = AdaptiveScheduler(settings: settings, now: sweepStartedAt)
        rebuilt.sweep = sweep
        // Users in flight stay in flight: their report puts them back. Asking for a user again while its request
        // is out would let two answers for it race to the store.
        var stillInFlight = Set<Int>()
        rebuilt.reserve(newIDs.count)
        for id in newIDs {
            if let slot = old[id] {
                rebuilt.append(
                    id, lastObserved: lastObserved[slot], everObserved: everObserved[slot],
                    lastChange: lastChange[slot], changes: changes[slot], observedSeconds: observedSeconds[slot],
                    tendency: tendency[slot], due: due[slot], sweepMark: sweepMark[slot])
                if inFlight[slot] { stillInFlight.insert(rebuilt.ids.count - 1) }
            } else {
                rebuilt.append(
                    id, lastObserved: now, everObserved: false, lastChange: -.infinity, changes: 0,
                    observedSeconds: 0, tendency: .unknown, due: now, sweepMark: 0)
            }
        }
        for slot in rebuilt.ids.indices {
            rebuilt.weight[slot] = rebuilt.weight(rate: rebuilt.changeRate(of: slot, at: now))
            rebuilt.weightSum += rebuilt.weight[slot]
            if !stillInFlight.contains(slot) { rebuilt.push(slot) }
        }
        let sweep = rebuilt.sweep
        rebuilt.sweepRemaining = rebuilt.sweepMark.count(where: { $0 < sweep })
        let completed = rebuilt.sweepRemaining == 0 && !rebuilt.ids.isEmpty && sweepRemaining > 0
        if completed { rebuilt.startSweep(at: now) }
        self = rebuilt
        return completed
    }

    private mutating func reserve(_ count: Int) {
        ids.reserveCapacity(count)
        lastObserved.reserveCapacity(count)
        everObserved.reserveCapacity(count)
        lastChange.reserveCapacity(count)
        changes.reserveCapacity(count)
        observedSeconds.reserveCapacity(count)
        tendency.reserveCapacity(count)
        weight.reserveCapacity(count)
        due.reserveCapacity(count)
        heap.reserveCapacity(count)
        version.reserveCapacity(count)
        inFlight.reserveCapacity(count)
        sweepMark.reserveCapacity(count)
    }

    private mutating func append(
        _ id: String, lastObserved: Double, everObserved: Bool, lastChange: Double, changes: Double,
        observedSeconds: Double, tendency: Tendency, due: Double, sweepMark: Int
    ) {
        ids.append(id)
        self.lastObserved.append(lastObserved)
        self.everObserved.append(everObserved)
        self.lastChange.append(lastChange)
        self.changes.append(changes)
        self.observedSeconds.append(observedSeconds)
        self.tendency.append(tendency)
        self.weight.append(0)
        self.due.append(due)
        self.version.append(0)
        self.inFlight.append(true)
        inFlightCount += 1
        self.sweepMark.append(sweepMark)
    }

    // MARK: Internals

    /// Recomputes the user's weight and puts it back in the heap, due one interval from `now`.
    private mutating func requeue(_ slot: Int, at now: Double) {
        let newWeight = weight(rate: changeRate(of: slot, at: now))
        weightSum += newWeight - weight[slot]
        weight[slot] = newWeight
        due[slot] = now + interval(weight: newWeight)
        push(slot)
    }

    /// Counts the user for the running sweep; starts the next sweep when it was the last. True when it was.
    private mutating func answered(_ slot: Int, at now: Double) -> Bool {
        guard sweepMark[slot] < sweep else { return false }
        sweepMark[slot] = sweep
        sweepRemaining -= 1
        guard sweepRemaining <= 0 else { return false }
        startSweep(at: now)
        return true
    }

    private mutating func startSweep(at now: Double) {
        sweep += 1
        sweepStartedAt = now
        sweepRemaining = ids.count
    }

    /// Puts user `slot` in the heap at `due[slot]`; an entry it had there goes stale.
    private mutating func push(_ slot: Int) {
        if inFlight[slot] {
            inFlight[slot] = false
            inFlightCount -= 1
        }
        version[slot] &+= 1
        heap.append(HeapEntry(due: due[slot], slot: Int32(slot), version: version[slot]))
        siftUp(heap.count - 1)
    }

    /// Takes the user with the earliest due time (skipping stale entries) and marks it in flight.
    private mutating func popFirst() -> Int? {
        while let first = heap.first {
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                siftDown(0)
            }
            let slot = Int(first.slot)
            guard !inFlight[slot], first.version == version[slot] else { continue }
            inFlight[slot] = true
            inFlightCount += 1
            return slot
        }
        return nil
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        let entry = heap[child]
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[parent].due > entry.due else { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = entry
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let entry = heap[parent]
        let count = heap.count
        while true {
            var child = 2 * parent + 1
            guard child < count else { break }
            if child + 1 < count && heap[child + 1].due < heap[child].due { child += 1 }
            guard heap[child].due < entry.due else { break }
            heap[parent] = heap[child]
            parent = child
        }
        heap[parent] = entry
    }
}

/// A user waiting in `AdaptiveScheduler`'s heap: 16 bytes.
private struct HeapEntry {
    var due: Double
    var slot: Int32
    var version: UInt32
}
