/// How many presence objects left out each field that can be left out, for `presence_sync_fields_omitted_total`.
public struct OmissionCounts: Sendable, Equatable {
    public var statusMessage = 0
    public var isOutOfOffice = 0
    public var outOfOfficeMessage = 0
    public var workLocationType = 0

    public init() {}

    mutating func add(_ omitted: PresenceFieldSet) {
        guard !omitted.isEmpty else { return }
        if omitted.contains(.statusMessage) { statusMessage += 1 }
        if omitted.contains(.isOutOfOffice) { isOutOfOffice += 1 }
        if omitted.contains(.outOfOfficeMessage) { outOfOfficeMessage += 1 }
        if omitted.contains(.workLocationType) { workLocationType += 1 }
    }

    /// Adds another set of counts (a batch's to its cycle's).
    mutating func add(_ other: OmissionCounts) {
        statusMessage += other.statusMessage
        isOutOfOffice += other.isOutOfOffice
        outOfOfficeMessage += other.outOfOfficeMessage
        workLocationType += other.workLocationType
    }

    /// Each field with its count, named as in events.
    public var byField: [(field: PresenceField, count: Int)] {
        [
            (.statusMessage, statusMessage), (.isOutOfOffice, isOutOfOffice),
            (.outOfOfficeMessage, outOfOfficeMessage), (.workLocationType, workLocationType),
        ]
    }
}
