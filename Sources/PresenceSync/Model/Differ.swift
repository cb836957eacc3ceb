/// Decides whether a new observation is a change, and which fields changed. Pure, so it is tested by tables.
public enum Differ {
    /// The fields that differ between `previous` and `current`, in `PresenceField` order.
    ///
    /// A first observation (`previous == nil`) reports every field, since everything about the user is new.
    /// An empty result means "no change": nothing is recorded and no event is emitted.
    public static func changedFields(from previous: PresenceState?, to current: PresenceState) -> [PresenceField] {
        guard let previous else { return PresenceField.allCases }
        var fields: [PresenceField] = []
        if previous.availability != current.availability { fields.append(.availability) }
        if previous.activity != current.activity { fields.append(.activity) }
        if previous.statusMessage != current.statusMessage { fields.append(.statusMessage) }
        if previous.isOutOfOffice != current.isOutOfOffice { fields.append(.isOutOfOffice) }
        if previous.outOfOfficeMessage != current.outOfOfficeMessage { fields.append(.outOfOfficeMessage) }
        if previous.workLocationType != current.workLocationType { fields.append(.workLocationType) }
        return fields
    }
}
