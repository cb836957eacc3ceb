/// A change as consumers see it: a CloudEvents 1.0 event in structured JSON form.
///
/// The same envelope goes to every sink. Its `id` is derived from the history row (database instance id plus
/// row id), so a consumer can deduplicate redeliveries, and it never changes for the same change: a replayed
/// change keeps it and adds the extension attribute `replayed: true`. A snapshot event (`snapshotType`) has the
/// same envelope and data with `previous` null and every field in `changedFields` (the whole state is new to the
/// consumer, as for a user's first observation); its id, `<instance>:snapshot:<as-of id>:<history id>`, is stable
/// for one snapshot and never equal to a change's.
public struct ChangeEvent: Sendable, Equatable {
    /// The CloudEvents `type` of every presence change event.
    public static let type = "io.presence-sync.presence.changed.v1"
    /// The CloudEvents `type` of a snapshot event: a user's state (and since when) when a sink started.
    public static let snapshotType = "io.presence-sync.presence.snapshot.v1"

    public var id: String
    public var source: String
    public var change: ChangeRecord

    public init(change: ChangeRecord, source: String, storeInstanceID: String) {
        switch change.origin {
        case .live, .replay: self.id = "\(storeInstanceID):\(change.historyID)"
        case .snapshot(let asOf): self.id = "\(storeInstanceID):snapshot:\(asOf):\(change.historyID)"
        }
        self.source = source
        self.change = change
    }

    /// The event as one line of JSON (no trailing newline), keys in a fixed order.
    public func json() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(640)
        appendJSON(to: &bytes)
        return bytes
    }

    /// Appends `json()` to `output` without an intermediate array (a batch body holds hundreds of events).
    public func appendJSON(to output: inout [UInt8]) {
        var writer = JSONWriter(continuing: output)
        output = []
        defer { output = writer.take() }
        writer.beginObject()
        writer.field("specversion", "1.0")
        writer.field("id", id)
        writer.field("source", source)
        if case .snapshot = change.origin {
            writer.field("type", Self.snapshotType)
        } else {
            writer.field("type", Self.type)
        }
        writer.field("subject", change.userID)
        writer.field("time", change.since.iso8601)
        writer.field("datacontenttype", "application/json")
        if case .replay = change.origin { writer.field("replayed", true) }
        writer.key("data")
        writer.beginObject()
        writer.field("userId", change.userID)
        writer.key("previous")
        if let previous = change.previous {
            Self.write(previous, since: change.previousSince, sequenceNumber: nil, to: &writer)
        } else {
            writer.null()
        }
        writer.key("current")
        Self.write(change.current, since: change.since, sequenceNumber: change.sequenceNumber, to: &writer)
        writer.key("changedFields")
        writer.beginArray()
        // A snapshot's state is new to its receiver as a whole; the record keeps the history row's own mask.
        let fields: [PresenceField]
        if case .snapshot = change.origin { fields = PresenceField.allCases } else { fields = change.changedFields }
        for field in fields { writer.string(field.rawValue) }
        writer.endArray()
        writer.endObject()
        writer.endObject()
    }

    private static func write(
        _ state: PresenceState, since: Timestamp?, sequenceNumber: String?, to writer: inout JSONWriter
    ) {
        writer.beginObject()
        writer.field("availability", state.availability)
        writer.field("activity", state.activity)
        writer.field("statusMessage", state.statusMessage)
        writer.field("isOutOfOffice", state.isOutOfOffice)
        writer.field("outOfOfficeMessage", state.outOfOfficeMessage)
        writer.field("workLocationType", state.workLocationType)
        writer.field("since", since?.iso8601)
        if let sequenceNumber { writer.field("sequenceNumber", sequenceNumber) }
        writer.endObject()
    }
}
