import Hummingbird

/// Writes getPresencesByUserId answers straight into a `ByteBuffer`.
///
/// Every catalog value is escaped once into a JSON fragment, so serving a presence is a handful of memcpy-like
/// writes plus 16 hex digits: far cheaper than `JSONEncoder` (a 650-user answer is about 250 KB).
/// Output follows Graph's v1.0 presence shape; see `graph-presence-facts.md`.
struct PresenceJSON: Sendable {
    private let pairFragments: [[UInt8]]
    private let statusFragments: [[UInt8]]
    private let outOfOfficeMessageFragments: [[UInt8]]
    private let workLocationFragments: [[UInt8]]

    /// Escapes every catalog value once into its JSON fragment.
    init() {
        pairFragments = PresenceCatalog.activityPairs.map { pair in
            Array("\",\"availability\":\(JSONText.quoted(pair.availability)),\"activity\":\(JSONText.quoted(pair.activity))".utf8)
        }
        statusFragments = PresenceCatalog.statusMessages.map { message in
            var text = "{\"message\":{\"content\":\(JSONText.quoted(message.content)),\"contentType\":\"text\"}"
            if message.showsNeverExpires {
                text += ",\"expiryDateTime\":{\"dateTime\":\"9999-12-31T23:59:59.9999999\",\"timeZone\":\"UTC\"}"
            }
            return Array((text + "}").utf8)
        }
        outOfOfficeMessageFragments = PresenceCatalog.outOfOfficeMessages.map { Array(JSONText.quoted($0).utf8) }
        workLocationFragments = PresenceCatalog.workLocations.map { location in
            let text = "{\"placeId\":null,\"source\":\(JSONText.quoted(location.source)),"
                + "\"workLocationType\":\(JSONText.quoted(location.type))}"
            return Array(text.utf8)
        }
    }

    /// Writes `{"@odata.context":...,"value":[...]}` for the served users and, after them, a `PresenceUnknown`
    /// placeholder for each id in `unknownIDs`. `graphBaseURL` is the Graph host as the client addressed it.
    func writeAnswer(
        served: [SimulatedTenant.ServedUser], unknownIDs: [String], directory: UserDirectory, graphBaseURL: String,
        into buffer: inout ByteBuffer
    ) {
        let context = JSONText.quoted(graphBaseURL + "/v1.0/$metadata#Collection(microsoft.graph.presence)")
        buffer.reserveCapacity(minimumWritableBytes: context.utf8.count + 32 + (served.count + unknownIDs.count) * 420)
        buffer.writeStaticString("{\"@odata.context\":")
        buffer.writeString(context)
        buffer.writeStaticString(",\"value\":[")
        var first = true
        directory.idBytes.withUnsafeBufferPointer { ids in
            for user in served {
                if !first { buffer.writeInteger(UInt8(ascii: ",")) }
                first = false
                let start = Int(user.index) * UserDirectory.guidLength
                let id = UnsafeBufferPointer(rebasing: ids[start..<start + UserDirectory.guidLength])
                writePresence(user.presence, id: UnsafeRawBufferPointer(id), into: &buffer)
            }
        }
        for id in unknownIDs {
            if !first { buffer.writeInteger(UInt8(ascii: ",")) }
            first = false
            buffer.writeStaticString("{\"id\":")
            buffer.writeString(JSONText.quoted(id))
            buffer.writeStaticString(",\"availability\":\"PresenceUnknown\",\"activity\":\"PresenceUnknown\",")
            buffer.writeStaticString("\"statusMessage\":null,\"outOfOfficeSettings\":{\"message\":null,")
            buffer.writeStaticString("\"isOutOfOffice\":false},\"sequenceNumber\":null,\"workLocation\":null}")
        }
        buffer.writeStaticString("]}")
    }

    private func writePresence(_ presence: UserPresence, id: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"id\":\"")
        buffer.writeBytes(id)
        buffer.writeBytes(pairFragments[Int(presence.pair)])
        buffer.writeStaticString(",\"statusMessage\":")
        if presence.statusMessage < 0 {
            buffer.writeStaticString("null")
        } else {
            buffer.writeBytes(statusFragments[Int(presence.statusMessage)])
        }
        buffer.writeStaticString(",\"outOfOfficeSettings\":{\"message\":")
        if presence.outOfOfficeMessage < 0 {
            buffer.writeStaticString("null")
        } else {
            buffer.writeBytes(outOfOfficeMessageFragments[Int(presence.outOfOfficeMessage)])
        }
        if presence.isOutOfOffice {
            buffer.writeStaticString(",\"isOutOfOffice\":true},\"sequenceNumber\":\"")
        } else {
            buffer.writeStaticString(",\"isOutOfOffice\":false},\"sequenceNumber\":\"")
        }
        Self.writeSequence(presence.sequence, into: &buffer)
        buffer.writeStaticString("\",\"workLocation\":")
        if presence.workLocation < 0 {
            buffer.writeStaticString("null}")
        } else {
            buffer.writeBytes(workLocationFragments[Int(presence.workLocation)])
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }

    /// Writes 16 upper-case hex digits, the same text as ``UserPresence/sequenceText(_:)``.
    private static func writeSequence(_ sequence: UInt64, into buffer: inout ByteBuffer) {
        let digits: StaticString = "0123456789ABCDEF"
        digits.withUTF8Buffer { digits in
            _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 16) { target in
                for position in 0..<16 {
                    target[position] = digits[Int((sequence >> UInt64((15 - position) * 4)) & 0xF)]
                }
                return 16
            }
        }
    }
}
