/// A moment of a ``WorkdaySimulation``: the real time read from its clock and the simulated time it stands for.
struct WorkdayInstant: Sendable {
    /// Seconds since 1970.
    let wall: Double
    /// Simulated seconds after the first day's midnight.
    let simulated: Double
}

/// Every user's working-day timeline, the record of real changes and of serves: the tenant's state in workday mode.
///
/// Not thread-safe by itself: it lives inside the tenant's `Mutex`, like the rest of the tenant's state.
struct WorkdayTimeline: Sendable {
    /// A real change as recorded (32 bytes): the user, the simulated time and the state it led to.
    struct RecordedChange: Sendable {
        let presence: UserPresence
        let time: Double
        let user: Int32
    }

    /// When a user was last served and the longest time they went unserved so far, in real seconds after creation.
    struct ServeGap: Sendable {
        var last: Double = 0
        var longest: Double = 0
    }

    let settings: WorkdaySimulation
    let seed: UInt64
    /// Real time when the simulator was created, seconds since 1970.
    let wallStart: Double
    /// Nil until the user is first touched; then advanced lazily.
    private var users: [WorkdayUser?]
    private(set) var changes: [RecordedChange] = []
    private var gaps: [ServeGap]
    /// The latest simulated time handed out, so that simulated time never runs backwards.
    private var latest: Double

    init(settings: WorkdaySimulation, userCount: Int, seed: UInt64) {
        self.settings = settings
        self.seed = seed
        self.wallStart = settings.clock()
        self.users = Array(repeating: nil, count: userCount)
        self.gaps = settings.recordChanges ? Array(repeating: ServeGap(), count: userCount) : []
        self.latest = settings.startTimeOfDay
    }

    var userCount: Int { users.count }

    /// The current moment: the clock read once, and the simulated time it stands for.
    mutating func now() -> WorkdayInstant {
        let wall = settings.clock()
        let elapsed = max(0, wall - wallStart) * settings.timeCompression
        latest = max(latest, settings.startTimeOfDay + elapsed)
        return WorkdayInstant(wall: wall, simulated: latest)
    }

    /// The real time, in milliseconds since 1970, at which simulated time `time` came.
    func milliseconds(at time: Double) -> Int64 {
        let wall = wallStart + (time - settings.startTimeOfDay) / settings.timeCompression
        return Int64((wall * 1000).rounded(.down))
    }

    /// The sequence number of a change at simulated time `time` (microseconds after the start), for sequence-only
    /// serves: a real change at a later time always gets a larger one.
    func sequence(at time: Double) -> UInt64 {
        UserPresence.firstChangeSequence + UInt64(max(0, (time - settings.startTimeOfDay) * 1_000_000))
    }

    /// User `index`'s state at `instant`, after applying (and recording) every change due by then; also returns how
    /// many changes that took. One comparison when nothing is due.
    mutating func presence(of index: Int, at instant: WorkdayInstant) -> (presence: UserPresence, changes: Int) {
        if let user = users[index], user.next > instant.simulated {
            return (user.presence, 0)
        }
        var user = users[index] ?? WorkdayUser(index: index, seed: seed, at: settings.startTimeOfDay)
        var count = 0
        while user.next <= instant.simulated {
            let time = user.next
            if user.step(origin: settings.startTimeOfDay) {
                count += 1
                if settings.recordChanges {
                    changes.append(RecordedChange(presence: user.presence, time: time, user: Int32(index)))
                }
            }
        }
        users[index] = user
        return (user.presence, count)
    }

    /// Gives user `index` (already touched) a new sequence number without changing its content.
    mutating func restamp(_ index: Int, sequence: UInt64) {
        users[index]?.restamp(sequence)
    }

    /// Notes that user `index` was served at `instant` (when recording).
    mutating func noteServe(of index: Int, at instant: WorkdayInstant) {
        guard !gaps.isEmpty else { return }
        let since = max(0, instant.wall - wallStart)
        gaps[index].longest = max(gaps[index].longest, since - gaps[index].last)
        gaps[index].last = max(gaps[index].last, since)
    }

    /// Forgets the longest gaps so far, keeping when each user was last served: gaps are then measured from a
    /// benchmark's window on (a gap going on at that moment counts whole, from the user's last serve).
    mutating func resetGaps() {
        for index in gaps.indices { gaps[index].longest = 0 }
    }

    /// Advances every user to `instant`, so that the record holds every change until then.
    mutating func advanceAll(to instant: WorkdayInstant) {
        for index in users.indices {
            _ = presence(of: index, at: instant)
        }
    }

    /// The longest a user went without being served, up to `instant`, counting from creation to the first serve
    /// and from the last serve to `instant`: the user's index and the real seconds. Nil when not recording.
    func longestUnservedGap(at instant: WorkdayInstant) -> (index: Int, seconds: Double)? {
        let now = max(0, instant.wall - wallStart)
        var longest: (index: Int, seconds: Double)?
        for (index, gap) in gaps.enumerated() {
            let seconds = max(gap.longest, now - gap.last)
            if seconds > longest?.seconds ?? -1 { longest = (index, seconds) }
        }
        return longest
    }

    /// The longest user `index` went without being served, up to `instant`; nil when not recording.
    func unservedGap(of index: Int, at instant: WorkdayInstant) -> Double? {
        guard !gaps.isEmpty else { return nil }
        return max(gaps[index].longest, max(0, instant.wall - wallStart) - gaps[index].last)
    }
}
