import Hummingbird

/// One presence object as `GET /users/{id}/presence` and `GET /communications/presences/{id}` answer it.
///
/// Not on a hot path, so written plainly (the batch answer has its own fast writer, ``PresenceJSON``); a custom
/// status message set through `setStatusMessage` replaces the walk's message. Fields in `omitting` are left out,
/// key and value, as in a shortened batch answer (see ``AnswerShortening``).
enum SinglePresenceJSON {
    static func object(
        id: String, presence: UserPresence, customStatusMessage: String?, context: String?,
        omitting omitted: OmittedFields = []
    ) -> String {
        let shown = presence.simulatedPresence
        var fields: [String] = []
        if let context { fields.append("\"@odata.context\":\(JSONText.quoted(context))") }
        fields.append("\"id\":\(JSONText.quoted(id))")
        fields.append("\"availability\":\(JSONText.quoted(shown.availability))")
        fields.append("\"activity\":\(JSONText.quoted(shown.activity))")
        if !omitted.contains(.statusMessage) {
            fields.append("\"statusMessage\":" + statusMessage(customStatusMessage ?? shown.statusMessage))
        }
        if !omitted.contains(.outOfOfficeSettings) {
            let message = shown.outOfOfficeMessage.map(JSONText.quoted) ?? "null"
            fields.append(
                "\"outOfOfficeSettings\":{\"message\":\(message),\"isOutOfOffice\":\(shown.isOutOfOffice)}")
        }
        fields.append("\"sequenceNumber\":\(JSONText.quoted(shown.sequenceNumber))")
        if !omitted.contains(.workLocation) {
            fields.append("\"workLocation\":" + workLocation(shown.workLocationType))
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// The value of `statusMessage`: null, or the message with content type text.
    private static func statusMessage(_ message: String?) -> String {
        guard let message else { return "null" }
        return "{\"message\":{\"content\":\(JSONText.quoted(message)),\"contentType\":\"text\"}}"
    }

    /// The value of `workLocation`: null, or the catalog's source for the type.
    private static func workLocation(_ type: String?) -> String {
        guard let type, let location = PresenceCatalog.workLocations.first(where: { $0.type == type }) else {
            return "null"
        }
        return "{\"placeId\":null,\"source\":\(JSONText.quoted(location.source)),"
            + "\"workLocationType\":\(JSONText.quoted(type))}"
    }
}

extension SinglePresenceJSON {
    /// Splits served users into those the fast batch writer can write and those showing a custom status message
    /// (set with setStatusMessage), which it cannot: its fragments are built from the catalog.
    static func split(
        _ served: [SimulatedTenant.ServedUser], overrides: PresenceOverrides
    ) -> (plain: [SimulatedTenant.ServedUser], custom: [(user: SimulatedTenant.ServedUser, message: String)]) {
        guard overrides.isUsed else { return (served, []) }
        var plain: [SimulatedTenant.ServedUser] = []
        var custom: [(user: SimulatedTenant.ServedUser, message: String)] = []
        for user in served {
            if let message = overrides.statusMessage(Int(user.index)) {
                custom.append((user, message))
            } else {
                plain.append(user)
            }
        }
        return (plain, custom)
    }

    /// Appends presence objects for `custom` to a finished batch answer, inside its `value` array.
    static func append(
        _ custom: [(user: SimulatedTenant.ServedUser, message: String)], directory: UserDirectory,
        to buffer: inout ByteBuffer, arrayIsEmpty: Bool
    ) {
        guard !custom.isEmpty else { return }
        buffer.moveWriterIndex(to: buffer.writerIndex - 2)  // drop the closing `]}`
        for (position, entry) in custom.enumerated() {
            if position > 0 || !arrayIsEmpty { buffer.writeStaticString(",") }
            let id = directory.ids[Int(entry.user.index)]
            buffer.writeString(
                object(
                    id: id, presence: entry.user.presence, customStatusMessage: entry.message, context: nil,
                    omitting: entry.user.omitted))
        }
        buffer.writeStaticString("]}")
    }
}
