import Foundation

/// What sets one user's working days apart, drawn once from (seed, user index): how often they change between
/// meetings, when they work, how many meetings they have and whether they are out of office this week.
///
/// Days and meeting slots are derived from it statelessly (a hash of the user's key and the day or slot), so a
/// user's calendar needs no storage and is the same however often or late it is looked at.
struct WorkdayProfile: Sendable {
    /// Length of a meeting slot: meetings start on the hour and the half hour.
    static let slotSeconds = 1800.0
    static let daySeconds = 86400.0
    /// Median rate of spontaneous changes per simulated hour, and the spread of its log (lognormal σ). Returns from
    /// breaks come faster and meetings take time away, so a median user makes about four spontaneous changes per
    /// working hour, plus about one for meetings; a tenth of users change over three times as often.
    static let medianChangesPerHour = 4.5
    static let changeRateSpread = 1.1

    /// Spontaneous changes per simulated second while working and not in a meeting.
    let rate: Double
    /// Usual start and end of work, simulated seconds after midnight (each day varies by a few minutes).
    let workStart: Float
    let workEnd: Float
    /// Chance that a meeting starts in any half-hour slot within working hours.
    let meetingPropensity: Float
    let isOutOfOffice: Bool
    /// Hash key of the user's days and slots.
    let key: UInt64

    init(index: Int, seed: UInt64) {
        key = SplitMix64.mix(SplitMix64.mix(seed ^ 0x3D4A_7000_0000_0000) ^ UInt64(index))
        var random = SplitMix64(seed: key)
        let normal = Self.standardNormal(using: &random)
        let perHour = Self.medianChangesPerHour * exp(Self.changeRateSpread * normal)
        rate = min(60, max(0.2, perHour)) / 3600
        workStart = Float(8 * 3600 + random.nextUnit() * 90 * 60)
        workEnd = Float(16.5 * 3600 + random.nextUnit() * 120 * 60)
        let spread = random.nextUnit()
        meetingPropensity = Float(0.04 + 0.5 * spread * spread)
        isOutOfOffice = random.nextUnit() < 0.03
    }

    /// Working hours of day `day` (0 is the first day), in simulated seconds since the first day's midnight: the
    /// usual hours moved by up to ten minutes either way.
    func hours(day: Int) -> (start: Double, end: Double) {
        var random = SplitMix64(seed: SplitMix64.mix(key ^ (UInt64(truncatingIfNeeded: day) &* 0xD1B5_4A32_D192_ED03)))
        let midnight = Double(day) * Self.daySeconds
        let start = midnight + Double(workStart) + (random.nextUnit() - 0.5) * 1200
        let end = midnight + Double(workEnd) + (random.nextUnit() - 0.5) * 1200
        return (start, end)
    }

    /// Day index of simulated time `time`.
    static func day(of time: Double) -> Int {
        Int((time / daySeconds).rounded(.down))
    }

    /// Index of the half-hour slot holding simulated time `time`.
    static func slot(of time: Double) -> Int {
        Int((time / slotSeconds).rounded(.down))
    }

    /// The meeting starting in slot `slot`, nil when there is none.
    ///
    /// Meetings lie within working hours. Slots on the hour hold 30- or 60-minute meetings, slots on the half hour
    /// 30-minute ones, and only when no hour-long meeting started the half hour before: calendars never overlap.
    func meeting(slot: Int) -> WorkdayMeeting? {
        guard !isOutOfOffice else { return nil }
        let start = Double(slot) * Self.slotSeconds
        let hours = hours(day: Self.day(of: start))
        guard start >= hours.start + 120, start + Self.slotSeconds <= hours.end else { return nil }
        var random = SplitMix64(seed: SplitMix64.mix(key ^ (UInt64(truncatingIfNeeded: slot) &* 0x9E37_79B9_7F4A_7C15)))
        guard random.nextUnit() < Double(meetingPropensity) else { return nil }
        let onTheHour = slot % 2 == 0
        let isLong = onTheHour && random.nextUnit() < 0.4 && start + 2 * Self.slotSeconds <= hours.end
        if !onTheHour, meeting(slot: slot - 1)?.isLong == true { return nil }
        let early = random.nextUnit() < 0.2
        let join = start + (early ? -60 * random.nextUnit() : 120 * random.nextUnit())
        let end = start + (isLong ? 2 : 1) * Self.slotSeconds
        let leave = end - 90 + 120 * random.nextUnit()
        let variant = random.nextUnit()
        let pair: UInt8
        switch variant {
        case ..<0.78: pair = PresenceCatalog.WorkdayPair.inAMeeting
        case ..<0.86: pair = PresenceCatalog.WorkdayPair.inACall
        case ..<0.94: pair = PresenceCatalog.WorkdayPair.presenting
        default: pair = PresenceCatalog.WorkdayPair.doNotDisturb
        }
        return WorkdayMeeting(slot: slot, join: join, leave: leave, pair: pair, isLong: isLong)
    }

    /// A standard normal value (Box–Muller).
    private static func standardNormal(using random: inout SplitMix64) -> Double {
        let radius = (-2 * log(1 - random.nextUnit())).squareRoot()
        return radius * cos(2 * Double.pi * random.nextUnit())
    }
}

/// One meeting of a user: when they join and leave (simulated seconds) and the pair they show in it.
struct WorkdayMeeting: Sendable {
    let slot: Int
    /// Up to a minute before the slot starts, or up to two minutes after.
    let join: Double
    /// Between 90 seconds before the meeting's end and 30 seconds after.
    let leave: Double
    let pair: UInt8
    let isLong: Bool
}
