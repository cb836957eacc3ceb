import Foundation

/// One user's place on their working-day timeline: the current state, the next event and when it happens.
///
/// Compact (72 bytes with the profile) and advanced lazily: ``step(origin:)`` applies the pending event and draws
/// the next one, so a user costs one comparison per serve and a few hundred nanoseconds per change.
struct WorkdayUser: Sendable {
    /// What happens at ``next``; it also says where the user is (off work, free, in a meeting, out of office).
    enum Event: UInt8, Sendable {
        case startWork, endWork, spontaneous, joinMeeting, leaveMeeting
        case outOfOfficeToggle, outOfOfficeEvening, outOfOfficeMorning
    }

    /// Consecutive events of a user are at least this far apart (simulated seconds), so change times are distinct.
    static let minimumGap = 2.0
    /// Changes per simulated hour of an out-of-office user during the day (a glance at the phone, and back).
    static let outOfOfficeChangesPerHour = 0.15

    private(set) var presence: UserPresence
    /// Simulated time of the pending event.
    private(set) var next: Double
    private var random: SplitMix64
    /// The last meeting joined or about to be joined, so that a meeting is never joined twice.
    private var meetingSlot: Int32
    private var pending: Event
    let profile: WorkdayProfile

    /// User `index`'s state at simulated time `time` when the simulation starts, with its first event drawn.
    ///
    /// Messages, work location and the initial sequence number come from ``UserPresence/initial(index:seed:)``;
    /// the pair and the out-of-office settings follow the user's day.
    init(index: Int, seed: UInt64, at time: Double) {
        profile = WorkdayProfile(index: index, seed: seed)
        random = SplitMix64(seed: SplitMix64.mix(seed ^ 0x7D00_0000_0000_0000) ^ UInt64(index))
        presence = UserPresence.initial(index: index, seed: seed)
        meetingSlot = Int32(WorkdayProfile.slot(of: time) - 3)
        next = time
        pending = .spontaneous
        presence.isOutOfOffice = profile.isOutOfOffice
        presence.outOfOfficeMessage = -1
        if profile.isOutOfOffice {
            presence.outOfOfficeMessage = Int16(random.nextIndex(PresenceCatalog.outOfOfficeMessages.count))
            presence.workLocation = PresenceCatalog.WorkdayPair.timeOffLocation
            let hours = profile.hours(day: WorkdayProfile.day(of: time))
            let working = (hours.start..<hours.end).contains(time) && random.nextUnit() < 0.2
            presence.pair =
                working ? PresenceCatalog.WorkdayPair.awayOutOfOffice : PresenceCatalog.WorkdayPair.offlineOutOfOffice
            scheduleOutOfOffice(from: time)
            return
        }
        let hours = profile.hours(day: WorkdayProfile.day(of: time))
        if !(hours.start..<hours.end).contains(time) {
            presence.pair = offWorkPair()
            scheduleStartOfWork(after: time)
        } else if let meeting = meetingInProgress(at: time) {
            presence.pair = meeting.pair
            meetingSlot = Int32(meeting.slot)
            next = meeting.leave
            pending = .leaveMeeting
        } else {
            presence.pair = initialFreePair()
            scheduleFree(from: time)
        }
    }

    /// Applies the pending event at ``next`` and draws the one after; returns true when the content changed (with
    /// a new sequence number, derived from the time: microseconds of simulated time after `origin`).
    mutating func step(origin: Double) -> Bool {
        let time = next
        let before = presence
        switch pending {
        case .startWork:
            presence.pair = PresenceCatalog.WorkdayPair.available
            if random.nextUnit() < 0.3 { presence.workLocation = Int16(random.nextIndex(2)) }  // office or remote
            scheduleFree(from: time)
        case .endWork:
            presence.pair = offWorkPair()
            scheduleStartOfWork(after: time)
        case .spontaneous:
            changeSpontaneously()
            scheduleFree(from: time)
        case .joinMeeting:
            let meeting = profile.meeting(slot: Int(meetingSlot))
            let pair = meeting?.pair ?? PresenceCatalog.WorkdayPair.inAMeeting
            presence.pair = pair == presence.pair ? PresenceCatalog.WorkdayPair.inAMeeting : pair
            next = max(meeting?.leave ?? time, time + Self.minimumGap)
            pending = .leaveMeeting
        case .leaveMeeting:
            presence.pair = PresenceCatalog.WorkdayPair.available
            scheduleFree(from: time)
        case .outOfOfficeToggle:
            let away = presence.pair == PresenceCatalog.WorkdayPair.awayOutOfOffice
            presence.pair =
                away ? PresenceCatalog.WorkdayPair.offlineOutOfOffice : PresenceCatalog.WorkdayPair.awayOutOfOffice
            scheduleOutOfOffice(from: time)
        case .outOfOfficeEvening:
            presence.pair = PresenceCatalog.WorkdayPair.offlineOutOfOffice
            scheduleOutOfOffice(from: time)
        case .outOfOfficeMorning:
            scheduleOutOfOffice(from: time)
        }
        guard !presence.hasSameContent(as: before) else { return false }
        let elapsed = UInt64(max(0, (time - origin) * 1_000_000))
        presence.sequence = max(UserPresence.firstChangeSequence + elapsed, before.sequence + 1)
        return true
    }

    /// Replaces the current state's sequence number (overrides and sequence-only serves restamp the walk).
    mutating func restamp(_ sequence: UInt64) {
        presence.sequence = sequence
    }

    // MARK: Changes

    /// A change between meetings: from `Available` an excursion (away, a call, focus, a new message or location);
    /// from anywhere else mostly back to `Available`.
    private mutating func changeSpontaneously() {
        typealias Pair = PresenceCatalog.WorkdayPair
        let roll = random.nextUnit()
        if presence.pair == Pair.available {
            switch roll {
            case ..<0.28: presence.pair = Pair.away
            case ..<0.36: presence.pair = Pair.beRightBack
            case ..<0.41: presence.pair = Pair.availableIdle
            case ..<0.63: presence.pair = Pair.inACall
            case ..<0.67: presence.pair = Pair.inAConferenceCall
            case ..<0.73: presence.pair = Pair.busy
            case ..<0.79: presence.pair = Pair.doNotDisturb
            case ..<0.91: changeStatusMessage()
            default: changeWorkLocation()
            }
        } else if presence.pair == Pair.availableIdle {
            presence.pair = roll < 0.5 ? Pair.away : Pair.available
        } else {
            switch roll {
            case ..<0.9: presence.pair = Pair.available
            case ..<0.96: changeStatusMessage()
            default: changeWorkLocation()
            }
        }
    }

    private mutating func changeStatusMessage() {
        let count = PresenceCatalog.statusMessages.count
        presence.statusMessage = Int16(
            UserPresence.different(from: Int(presence.statusMessage), in: -1, count, &random))
    }

    private mutating func changeWorkLocation() {
        let count = PresenceCatalog.workLocations.count
        presence.workLocation = Int16(UserPresence.different(from: Int(presence.workLocation), in: -1, count, &random))
    }

    private mutating func offWorkPair() -> UInt8 {
        random.nextUnit() < 0.85 ? PresenceCatalog.WorkdayPair.offWork : PresenceCatalog.WorkdayPair.offline
    }

    /// A state between meetings for a user who is at work when the simulation starts.
    private mutating func initialFreePair() -> UInt8 {
        typealias Pair = PresenceCatalog.WorkdayPair
        switch random.nextUnit() {
        case ..<0.65: return Pair.available
        case ..<0.77: return Pair.away
        case ..<0.87: return Pair.inACall
        case ..<0.90: return Pair.beRightBack
        case ..<0.94: return Pair.busy
        case ..<0.97: return Pair.doNotDisturb
        default: return Pair.availableIdle
        }
    }

    // MARK: Scheduling

    /// How much faster than the user's base rate a state is left: short breaks and idle spells end sooner.
    private var rateFactor: Double {
        typealias Pair = PresenceCatalog.WorkdayPair
        switch presence.pair {
        case Pair.beRightBack, Pair.availableIdle: return 3
        case Pair.away: return 2
        case Pair.inACall, Pair.inAConferenceCall, Pair.busy: return 1.5
        default: return 1
        }
    }

    /// Between meetings at `time`: the next spontaneous change, meeting or end of work, whichever comes first.
    private mutating func scheduleFree(from time: Double) {
        let hours = profile.hours(day: WorkdayProfile.day(of: time))
        guard time < hours.end else {  // a meeting ran past the end of the day: leave a little later
            next = time + Self.minimumGap + 600 * random.nextUnit()
            pending = .endWork
            return
        }
        next = time + max(Self.minimumGap, exponential(rate: profile.rate * rateFactor))
        pending = .spontaneous
        if hours.end < next {
            next = max(hours.end, time + Self.minimumGap)
            pending = .endWork
        }
        if let meeting = nextMeeting(after: time, until: hours.end) {
            let join = max(meeting.join, time + Self.minimumGap)
            if join <= next {
                next = join
                pending = .joinMeeting
                meetingSlot = Int32(meeting.slot)
            }
        }
    }

    /// The first meeting not yet joined that is still going on after `time` (and starts before `end`).
    private func nextMeeting(after time: Double, until end: Double) -> WorkdayMeeting? {
        var slot = max(Int(meetingSlot) + 1, WorkdayProfile.slot(of: time) - 2)
        let last = WorkdayProfile.slot(of: end)
        while slot <= last {
            if let meeting = profile.meeting(slot: slot), meeting.leave > time + Self.minimumGap { return meeting }
            slot += 1
        }
        return nil
    }

    /// The meeting the user is in at `time` by the calendar, nil when none.
    private func meetingInProgress(at time: Double) -> WorkdayMeeting? {
        let slot = WorkdayProfile.slot(of: time)
        for candidate in (slot - 2)...(slot + 1) {
            if let meeting = profile.meeting(slot: candidate), meeting.join <= time, time < meeting.leave {
                return meeting
            }
        }
        return nil
    }

    /// Off work at `time`: the next event is the start of the next working day.
    private mutating func scheduleStartOfWork(after time: Double) {
        let day = WorkdayProfile.day(of: time)
        let today = profile.hours(day: day)
        next = time < today.start ? today.start : profile.hours(day: day + 1).start
        next = max(next, time + Self.minimumGap)
        pending = .startWork
    }

    /// Out of office at `time`: rare toggles between offline and away during the day, offline in the evening.
    private mutating func scheduleOutOfOffice(from time: Double) {
        let day = WorkdayProfile.day(of: time)
        let hours = profile.hours(day: day)
        if time < hours.start {
            next = hours.start
            pending = .outOfOfficeMorning
        } else if time >= hours.end {
            next = profile.hours(day: day + 1).start
            pending = .outOfOfficeMorning
        } else {
            next = time + max(Self.minimumGap, exponential(rate: Self.outOfOfficeChangesPerHour / 3600))
            pending = .outOfOfficeToggle
            if next >= hours.end {
                next = hours.end
                pending = .outOfOfficeEvening
            }
        }
        next = max(next, time + Self.minimumGap)
    }

    /// An exponentially distributed wait with `rate` events per second.
    private mutating func exponential(rate: Double) -> Double {
        -log(1 - random.nextUnit()) / rate
    }
}
