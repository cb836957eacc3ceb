/// The part of a user's presence that presence-sync compares and records.
///
/// `sequenceNumber` is deliberately not part of it: Graph bumps it without any visible change, and a
/// sequence-only change must not produce a history row.
public struct PresenceState: Sendable, Hashable {
    /// Graph's availability (Available, Busy, ...); kept as the string Graph sent, new values included.
    public var availability: String
    /// Graph's activity (InAMeeting, Presenting, ...); kept as sent.
    public var activity: String
    /// The status message text, nil when there is none (an empty message counts as none).
    public var statusMessage: String?
    public var isOutOfOffice: Bool
    /// The out-of-office message, nil when there is none.
    public var outOfOfficeMessage: String?
    /// office, remote, timeOff, unknown ... or nil when Graph sent no work location.
    public var workLocationType: String?

    public init(
        availability: String, activity: String, statusMessage: String? = nil, isOutOfOffice: Bool = false,
        outOfOfficeMessage: String? = nil, workLocationType: String? = nil
    ) {
        self.availability = availability
        self.activity = activity
        self.statusMessage = statusMessage.flatMap { $0.isEmpty ? nil : $0 }
        self.isOutOfOffice = isOutOfOffice
        self.outOfOfficeMessage = outOfOfficeMessage.flatMap { $0.isEmpty ? nil : $0 }
        self.workLocationType = workLocationType.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// One field of `PresenceState`, named as it appears in events and in the history's `changed_fields` column.
public enum PresenceField: String, Sendable, CaseIterable {
    case availability
    case activity
    case statusMessage
    case isOutOfOffice
    case outOfOfficeMessage
    case workLocationType
}

/// One user's presence as read from Graph at one moment.
public struct PresenceObservation: Sendable, Equatable {
    public var userID: String
    public var state: PresenceState
    /// Graph's opaque version stamp, stored for reference; never compared.
    public var sequenceNumber: String?

    public init(userID: String, state: PresenceState, sequenceNumber: String? = nil) {
        self.userID = userID
        self.state = state
        self.sequenceNumber = sequenceNumber
    }
}

extension PresenceField {
    /// Parses `availability,activity` as stored in the outbox, byte by byte (a backlog drain reads millions);
    /// unknown names are skipped.
    static func list(commaSeparated text: String?) -> [PresenceField] {
        guard let text, !text.isEmpty else { return [] }
        var fields: [PresenceField] = []
        for part in text.utf8.split(separator: UInt8(ascii: ",")) {
            if let field = allCases.first(where: { $0.rawValue.utf8.elementsEqual(part) }) { fields.append(field) }
        }
        return fields
    }
}
