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
    /// Fields the answer left out: they keep the user's last known value (`state` holds none for them).
    public var omitted: PresenceFieldSet
    /// The answer's fingerprint of the compared fields (0: none), which the store remembers once this observation
    /// is committed, so that the next equal answer is recognised without decoding it.
    public var fingerprint: UInt64

    public init(
        userID: String, state: PresenceState, sequenceNumber: String? = nil, omitted: PresenceFieldSet = [],
        fingerprint: UInt64 = 0
    ) {
        self.userID = userID
        self.state = state
        self.sequenceNumber = sequenceNumber
        self.omitted = omitted
        self.fingerprint = fingerprint
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

/// A set of `PresenceField`s, one bit each: which fields an answer left out.
public struct PresenceFieldSet: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public init(_ field: PresenceField) {
        self.init(rawValue: 1 << UInt8(PresenceField.allCases.firstIndex(of: field)!))
    }

    public static let statusMessage = PresenceFieldSet(.statusMessage)
    public static let isOutOfOffice = PresenceFieldSet(.isOutOfOffice)
    public static let outOfOfficeMessage = PresenceFieldSet(.outOfOfficeMessage)
    public static let workLocationType = PresenceFieldSet(.workLocationType)

    /// The fields in the set, in `PresenceField` order.
    public var fields: [PresenceField] { PresenceField.allCases.filter { contains(PresenceFieldSet($0)) } }
}

extension PresenceState {
    /// This state with the `omitted` fields taken from `known`: a field an answer left out keeps its last known
    /// value (Graph documents that answers "might be shortened"); a field sent as `null` is cleared as usual.
    public func carryingForward(_ omitted: PresenceFieldSet, from known: PresenceState) -> PresenceState {
        guard !omitted.isEmpty else { return self }
        var state = self
        if omitted.contains(.statusMessage) { state.statusMessage = known.statusMessage }
        if omitted.contains(.isOutOfOffice) { state.isOutOfOffice = known.isOutOfOffice }
        if omitted.contains(.outOfOfficeMessage) { state.outOfOfficeMessage = known.outOfOfficeMessage }
        if omitted.contains(.workLocationType) { state.workLocationType = known.workLocationType }
        return state
    }
}
