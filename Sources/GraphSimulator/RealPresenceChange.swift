/// One real change of a user's presence in a ``WorkdaySimulation``: when it happened and the state it led to.
public struct RealPresenceChange: Sendable, Hashable {
    /// The user's object id.
    public var userID: String
    /// When the change happened, in milliseconds since 1970: the simulator's creation time plus the simulated time
    /// elapsed until the change divided by the compression (not when the change was computed).
    public var atMilliseconds: Int64
    /// When the change happened in simulated time: seconds after local midnight of the first day. Finer than
    /// `atMilliseconds` under high compression, and strictly increasing per user.
    public var simulatedTime: Double
    /// The state the user changed to (its `sequenceNumber` is larger than every earlier one of the user).
    public var presence: SimulatedPresence

    /// A change of `userID` to `presence` at `atMilliseconds` (`simulatedTime` in simulated seconds).
    public init(userID: String, atMilliseconds: Int64, simulatedTime: Double, presence: SimulatedPresence) {
        self.userID = userID
        self.atMilliseconds = atMilliseconds
        self.simulatedTime = simulatedTime
        self.presence = presence
    }
}
