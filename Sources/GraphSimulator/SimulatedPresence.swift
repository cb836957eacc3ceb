/// One presence state exactly as the simulator served it: what the daemon is expected to record.
public struct SimulatedPresence: Sendable, Hashable, Codable {
    /// Graph `availability`, e.g. `Available`, `Busy`, `PresenceUnknown`.
    public var availability: String
    /// Graph `activity`, e.g. `InAMeeting`, `OffWork`.
    public var activity: String
    /// `statusMessage.message.content`, or nil when `statusMessage` is null. May be the empty string.
    public var statusMessage: String?
    /// `outOfOfficeSettings.isOutOfOffice`.
    public var isOutOfOffice: Bool
    /// `outOfOfficeSettings.message`, or nil when null. Can be set while `isOutOfOffice` is false (scheduled).
    public var outOfOfficeMessage: String?
    /// `workLocation.workLocationType` (`office`, `remote`, `timeOff`, `unknown`), or nil when `workLocation` is null.
    public var workLocationType: String?
    /// `sequenceNumber`: fixed-width upper-case hex, so lexicographic order is version order; grows on every change.
    public var sequenceNumber: String

    /// Creates a presence state; tests use it to spell out expected states.
    public init(
        availability: String,
        activity: String,
        statusMessage: String? = nil,
        isOutOfOffice: Bool = false,
        outOfOfficeMessage: String? = nil,
        workLocationType: String? = nil,
        sequenceNumber: String
    ) {
        self.availability = availability
        self.activity = activity
        self.statusMessage = statusMessage
        self.isOutOfOffice = isOutOfOffice
        self.outOfOfficeMessage = outOfOfficeMessage
        self.workLocationType = workLocationType
        self.sequenceNumber = sequenceNumber
    }

    /// True when every field but `sequenceNumber` is equal: a sequence-only bump is not a real change.
    public func hasSameContent(as other: SimulatedPresence) -> Bool {
        availability == other.availability && activity == other.activity && statusMessage == other.statusMessage
            && isOutOfOffice == other.isOutOfOffice && outOfOfficeMessage == other.outOfOfficeMessage
            && workLocationType == other.workLocationType
    }
}
