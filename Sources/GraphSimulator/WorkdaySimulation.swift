import Foundation

/// Presence that evolves in (compressed) wall-clock time like a working day, instead of changing when served.
///
/// Each user follows a timeline fixed by the configuration's seed and the user's index: working hours (arriving
/// between about 08:00 and 09:30, leaving between about 16:30 and 18:30, `Offline`/`OffWork` outside them, no
/// changes at night), meetings on the hour and the half hour (30 or 60 minutes, `Busy`/`InAMeeting` mostly, joined
/// up to two minutes late and left slightly early), and between meetings spontaneous changes at a rate drawn per user
/// from a wide lognormal (median about four an hour): ad-hoc calls, `Away`/`BeRightBack` after idle periods and the
/// return to `Available`, now and then a new status message or work location. About 3% of users are out of office
/// all week and change a few times a day at most. Every day is a weekday.
///
/// Simulated time runs `timeCompression` times faster than the clock, from `startTimeOfDay` at the moment the
/// simulator is created. Timelines advance lazily when a user is served or read, so every serve shows the state at
/// that moment and changes nobody saw still happened (and are recorded) at their own time.
public struct WorkdaySimulation: Sendable {
    /// Simulated seconds per real second: 20 turns a working day into about half an hour.
    public var timeCompression: Double = 20
    /// Simulated seconds after local midnight of the first day when the simulator is created (08:45 by default).
    public var startTimeOfDay: Double = 8.75 * 3600
    /// Keep every real change (user, time, new state) and, per user, the longest time between two batch serves, for
    /// ``GraphSimulator/realChanges(upToMilliseconds:)`` and ``GraphSimulator/longestUnservedGap()``.
    ///
    /// Costs 32 bytes per change plus 16 per user.
    public var recordChanges: Bool = true
    /// The real time, in seconds since 1970; the system clock by default. Tests inject a clock they step by hand,
    /// so that hours of simulated time pass without waiting.
    public var clock: @Sendable () -> Double = { Date().timeIntervalSince1970 }

    /// The defaults above: 20× compression, starting at 08:45, recording changes, on the system clock.
    public init() {}

    /// A model with the given compression and start time (and optionally clock and recording).
    public init(
        timeCompression: Double,
        startTimeOfDay: Double = 8.75 * 3600,
        recordChanges: Bool = true,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.timeCompression = timeCompression
        self.startTimeOfDay = startTimeOfDay
        self.recordChanges = recordChanges
        self.clock = clock
    }
}
