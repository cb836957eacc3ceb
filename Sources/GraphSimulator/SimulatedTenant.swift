import Synchronization

/// The mutable heart of the simulator: every user's presence, issued tokens, queued faults and counters.
///
/// All mutable state sits behind one `Mutex`; each request takes it once or twice for a few microseconds (state
/// changes for 650 users are a few array writes), and answers are serialised outside the lock. Changes draw from
/// one seeded PRNG, so the same sequence of requests yields the same answers. With a ``WorkdaySimulation`` presence
/// follows each user's timeline in time instead (see ``WorkdayTimeline``) and serves change nothing but sequence
/// numbers.
final class SimulatedTenant: Sendable {
    /// A user as served by one answer: its index in the directory, the state it was served with and the fields
    /// its object leaves out (see ``AnswerShortening``). `omitted` sits in padding: still 24 bytes.
    struct ServedUser: Sendable {
        let index: Int32
        let omitted: OmittedFields
        let presence: UserPresence

        init(index: Int32, omitted: OmittedFields = [], presence: UserPresence) {
            self.index = index
            self.omitted = omitted
            self.presence = presence
        }
    }

    /// Why a bearer token was accepted or refused.
    enum TokenVerdict: Equatable, Sendable {
        case valid, missing, unknown, expired, revoked
    }

    fileprivate struct State: Sendable {
        /// Users not yet touched hold ``UserPresence/untouched`` and get their initial state on first access.
        /// Empty in workday mode, where `workday` holds the users.
        var users: [UserPresence]
        /// Every user's timeline when presence follows a ``WorkdaySimulation``, nil otherwise.
        var workday: WorkdayTimeline?
        /// Per user, the runs of served (state, omitted fields); empty unless recording is configured.
        var served: [[ServedRun]]
        var random: SplitMix64
        /// The shortening in force, nil when answers are complete.
        var shortening: ActiveShortening?
        /// Decides which serves of affected users are shortened; separate from `random`, so that shortening never
        /// changes which states are served.
        var shorteningRandom: SplitMix64
        var nextSequence = UserPresence.firstChangeSequence
        var faults: [SimulatedFault] = []
        /// Token endpoint outages still to serve: status and `Retry-After` seconds, oldest first.
        var tokenFaults: [(status: Int, retryAfterSeconds: Int?)] = []
        var tokens: [String: ContinuousClock.Instant] = [:]
        var revokedTokens: Set<String> = []
        var statistics = SimulatorStatistics()
    }

    let configuration: SimulatorConfiguration
    let directory: UserDirectory
    /// What the presence write APIs set; consulted on every serve.
    let overrides = PresenceOverrides()
    /// Groups, directory faults and directory counters.
    let groups = SimulatedGroups()
    private let state: Mutex<State>

    init(configuration: SimulatorConfiguration) {
        self.configuration = configuration
        let count = max(0, configuration.userCount)
        self.directory = UserDirectory(count: count, seed: configuration.seed)
        let workday = configuration.workday.map {
            WorkdayTimeline(settings: $0, userCount: count, seed: configuration.seed)
        }
        let users = workday == nil ? Array(repeating: UserPresence.untouched, count: count) : []
        let served = configuration.recordServedStates ? Array(repeating: [ServedRun](), count: count) : []
        let random = SplitMix64(seed: SplitMix64.mix(configuration.seed ^ 0xC4A4_6E00_0000_0000))
        self.state = Mutex(
            State(
                users: users, workday: workday, served: served, random: random,
                shortening: configuration.shortening.map { ActiveShortening($0, seed: configuration.seed) },
                shorteningRandom: SplitMix64(seed: SplitMix64.mix(configuration.seed ^ 0x5407_0000_0000_0000))))
    }

    // MARK: Presence

    /// Serves the users at `indices` (distinct): each may first change (or bump its sequence only) per the
    /// configured probabilities, then may be shortened (see ``AnswerShortening``); the served states and omissions
    /// are recorded when configured, and counted. In workday mode each is first advanced to now along its timeline
    /// (a change then counts once per serve that finds any), and the serve's time is noted.
    /// The result is shuffled when ``SimulatorConfiguration/shuffleResults`` is set.
    func serve(_ indices: [Int]) -> [ServedUser] {
        let changeProbability = configuration.changeProbability
        let sequenceOnlyProbability = configuration.sequenceOnlyProbability
        let record = configuration.recordServedStates
        return state.withLock { state in
            let shortening = state.shortening
            var result: [ServedUser] = []
            result.reserveCapacity(indices.count)
            var changes = 0
            var sequenceOnly = 0
            var shortened = 0
            let instant = state.workday?.now()
            for index in indices {
                var (presence, changed) = state.walk(index, at: instant, seed: configuration.seed)
                if let instant {
                    state.workday?.noteServe(of: index, at: instant)
                    changes += changed ? 1 : 0
                    if sequenceOnlyProbability > 0, !changed, state.random.nextUnit() < sequenceOnlyProbability {
                        presence.sequence = max(
                            presence.sequence + 1, state.workday?.sequence(at: instant.simulated) ?? 0)
                        sequenceOnly += 1
                    }
                    state.nextSequence = max(state.nextSequence, presence.sequence + 1)
                } else if state.random.nextUnit() < changeProbability {
                    presence.change(using: &state.random, sequence: state.nextSequence)
                    state.nextSequence += 1
                    changes += 1
                } else if sequenceOnlyProbability > 0, state.random.nextUnit() < sequenceOnlyProbability {
                    presence.sequence = state.nextSequence
                    state.nextSequence += 1
                    sequenceOnly += 1
                }
                let shown = overrides.shown(&presence, index: index, nextSequence: &state.nextSequence)
                state.store(presence, shown: shown, index: index)
                var omitted: OmittedFields = []
                if let shortening {
                    omitted = shortening.omissions(forUser: index, using: &state.shorteningRandom)
                    shortened += omitted.isEmpty ? 0 : 1
                }
                if record {
                    state.record(shown, omitted: omitted, index: index)
                }
                result.append(ServedUser(index: Int32(index), omitted: omitted, presence: shown))
            }
            if configuration.shuffleResults {
                result.shuffle(using: &state.random)
            }
            state.statistics.usersServed += result.count
            state.statistics.changesServed += changes
            state.statistics.sequenceOnlyChangesServed += sequenceOnly
            state.statistics.shortenedObjectsServed += shortened
            return result
        }
    }

    /// The current states of the users at `indices`, without changing, recording or counting anything.
    func peek(_ indices: [Int]) -> [ServedUser] {
        state.withLock { state in
            indices.map { ServedUser(index: Int32($0), presence: shownState(&state, index: $0)) }
        }
    }

    /// The current state of user `index`.
    func currentState(index: Int) -> UserPresence {
        state.withLock { shownState(&$0, index: index) }
    }

    /// User `index` as a single-user presence read shows it: the current state, unchanged and unrecorded as by
    /// ``peek(_:)``, but shortened like a batch serve (drawing from the same shortening PRNG).
    func read(index: Int) -> ServedUser {
        state.withLock { state in
            let shown = shownState(&state, index: index)
            let shortening = state.shortening
            let omitted = shortening?.omissions(forUser: index, using: &state.shorteningRandom) ?? []
            return ServedUser(index: Int32(index), omitted: omitted, presence: shown)
        }
    }

    /// User `index`'s state with any presence override applied (see ``PresenceOverrides``).
    private func shownState(_ state: inout State, index: Int) -> UserPresence {
        let instant = state.workday?.now()
        var walk = state.walk(index, at: instant, seed: configuration.seed).presence
        if instant != nil {
            state.nextSequence = max(state.nextSequence, walk.sequence + 1)
        }
        let shown = overrides.shown(&walk, index: index, nextSequence: &state.nextSequence)
        state.store(walk, shown: shown, index: index)
        return shown
    }

    // MARK: Workday

    /// Runs `body` on the workday timelines under the lock; nil when presence does not follow a workday.
    func withWorkday<Result>(_ body: (inout WorkdayTimeline) -> Result) -> Result? {
        state.withLock { state in
            guard state.workday != nil else { return nil }
            return body(&state.workday!)
        }
    }

    /// The distinct consecutive states served for user `index` (empty unless recording is configured).
    func servedStates(index: Int) -> [UserPresence] {
        var states: [UserPresence] = []
        for run in servedRuns(index: index) where states.last != run.presence {
            states.append(run.presence)
        }
        return states
    }

    /// The runs of consecutive serves of user `index` with equal state and omissions (empty unless recording).
    func servedRuns(index: Int) -> [ServedRun] {
        state.withLock { $0.served.isEmpty ? [] : $0.served[index] }
    }

    // MARK: Shortening

    /// The shortening in force, nil when answers are complete.
    var shortening: AnswerShortening? {
        state.withLock { $0.shortening?.setting }
    }

    /// Puts `shortening` in force from the next serve on (nil turns it off); the shortening PRNG runs on.
    func setShortening(_ shortening: AnswerShortening?) {
        let active = shortening.map { ActiveShortening($0, seed: configuration.seed) }
        state.withLock { $0.shortening = active }
    }

    /// True when the shortening in force affects user `index` (false when none is).
    func isAffectedByShortening(index: Int) -> Bool {
        state.withLock { $0.shortening?.affects(index: index) ?? false }
    }

    // MARK: Faults

    /// Appends faults to the queue.
    func enqueue(_ faults: [SimulatedFault]) {
        state.withLock { $0.faults.append(contentsOf: faults) }
    }

    /// Removes and returns the oldest queued fault, counting it as served.
    func dequeueFault() -> SimulatedFault? {
        state.withLock { state in
            guard !state.faults.isEmpty else { return nil }
            state.statistics.faultsServed += 1
            return state.faults.removeFirst()
        }
    }

    /// Queues `count` token-endpoint answers with `status` (and `Retry-After`) before normal service resumes.
    func enqueueTokenFaults(count: Int, status: Int, retryAfterSeconds: Int?) {
        state.withLock { state in
            for _ in 0..<max(0, count) { state.tokenFaults.append((status, retryAfterSeconds)) }
        }
    }

    /// Removes and returns the oldest queued token-endpoint fault, counting it as served.
    func dequeueTokenFault() -> (status: Int, retryAfterSeconds: Int?)? {
        state.withLock { state in
            guard !state.tokenFaults.isEmpty else { return nil }
            state.statistics.faultsServed += 1
            return state.tokenFaults.removeFirst()
        }
    }

    // MARK: Tokens

    /// Issues a new opaque access token valid for the configured lifetime.
    func issueToken() -> String {
        var generator = SystemRandomNumberGenerator()  // tokens must be unguessable, not reproducible
        let token = "sim." + (0..<4).map { _ in Self.base64URL(generator.next()) }.joined()
        let now = ContinuousClock.now
        let expiry = now.advanced(by: .seconds(configuration.tokenLifetimeSeconds))
        state.withLock { state in
            if state.tokens.count >= 1024 {
                state.tokens = state.tokens.filter { $0.value > now }
            }
            state.tokens[token] = expiry
            state.statistics.tokensIssued += 1
        }
        return token
    }

    /// Checks a bearer token as Graph would: it must have been issued here, not revoked and not expired.
    func verifyToken(_ token: String?) -> TokenVerdict {
        guard let token, !token.isEmpty else { return .missing }
        return state.withLock { state in
            if let expiry = state.tokens[token] {
                return expiry > ContinuousClock.now ? .valid : .expired
            }
            return state.revokedTokens.contains(token) ? .revoked : .unknown
        }
    }

    /// Rejects every token issued so far.
    func revokeTokens() {
        state.withLock { state in
            state.revokedTokens.formUnion(state.tokens.keys)
            state.tokens.removeAll()
        }
    }

    // MARK: Statistics

    var statistics: SimulatorStatistics {
        state.withLock { $0.statistics }
    }

    /// Applies `update` to the counters under the lock.
    func count(_ update: (inout SimulatorStatistics) -> Void) {
        state.withLock { update(&$0.statistics) }
    }

    private static func base64URL(_ value: UInt64) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var bytes: [UInt8] = []
        var rest = value
        for _ in 0..<11 {
            bytes.append(alphabet[Int(rest & 63)])
            rest >>= 6
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension SimulatedTenant.State {
    /// Appends a serve of user `index` to its record: extends the last run if state and omissions are the same.
    fileprivate mutating func record(_ shown: UserPresence, omitted: OmittedFields, index: Int) {
        if let last = served[index].indices.last, served[index][last].presence == shown,
            served[index][last].omitted == omitted, served[index][last].count < UInt32.max
        {
            served[index][last].count += 1
        } else {
            served[index].append(ServedRun(presence: shown, omitted: omitted, count: 1))
        }
    }

    /// User `index`'s own state (its walk, before overrides) at `instant`: advanced along its timeline in workday
    /// mode (then `changed` says whether any change was due), else the per-serve walk's state.
    fileprivate mutating func walk(
        _ index: Int, at instant: WorkdayInstant?, seed: UInt64
    ) -> (presence: UserPresence, changed: Bool) {
        if let instant, let advanced = workday?.presence(of: index, at: instant) {
            return (advanced.presence, advanced.changes > 0)
        }
        return (user(at: index, seed: seed), false)
    }

    /// Stores user `index`'s walk state after `shown` was derived from it by the overrides.
    ///
    /// In workday mode the walk takes the shown sequence number when an override raised it: the timeline's later
    /// changes then take larger ones, so the sequence shown keeps growing however overrides and changes interleave.
    fileprivate mutating func store(_ walk: UserPresence, shown: UserPresence, index: Int) {
        if workday != nil {
            workday?.restamp(index, sequence: max(walk.sequence, shown.sequence))
        } else {
            users[index] = walk
        }
    }

    /// User `index`'s state, giving it its deterministic initial state on first access.
    fileprivate mutating func user(at index: Int, seed: UInt64) -> UserPresence {
        if users[index].sequence == 0 {
            users[index] = UserPresence.initial(index: index, seed: seed)
        }
        return users[index]
    }
}
