/// Decodes a getPresencesByUserId answer into observations, refusing answers that are not the documented shape.
///
/// Graph may shorten presence objects, so only `id`, `availability` and `activity` are required; everything else
/// is optional and may be null. Unknown fields are skipped (but must still be valid JSON) and unknown
/// availability/activity values are kept as strings. One bad object rejects the whole answer: a batch is written
/// completely or not at all. Decoding walks the bytes once with `JSONScanner`, because this runs for every user in
/// every cycle.
enum PresenceAnswer {
    static func decode(_ bytes: some Collection<UInt8>, requestID: String?) throws(GraphError) -> [PresenceObservation] {
        let result: Result<[PresenceObservation], JSONScanner.Failure> =
            bytes.withContiguousStorageIfAvailable { parse($0) } ?? Array(bytes).withUnsafeBufferPointer { parse($0) }
        switch result {
        case .success(let observations):
            return observations
        case .failure(let failure):
            throw .malformedAnswer(reason: describe(failure), requestID: requestID)
        }
    }

    static func describe(_ failure: JSONScanner.Failure) -> String {
        if failure.isSyntax { return "not valid JSON (\(failure.reason) at byte \(failure.offset))" }
        return (failure.path.map { "\($0): " } ?? "") + failure.reason
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<[PresenceObservation], JSONScanner.Failure> {
        var scanner = JSONScanner(bytes)
        var observations: [PresenceObservation] = []
        var sawValue = false
        do throws(JSONScanner.Failure) {
            try scanner.readObject { scanner, key throws(JSONScanner.Failure) in
                guard key.spells("value") else { return try scanner.skipValue() }
                sawValue = true
                try within("value") { () throws(JSONScanner.Failure) in
                    try scanner.readArray { scanner, index throws(JSONScanner.Failure) in
                        observations.append(try readPresence(&scanner, index: index))
                    }
                }
            }
            try scanner.finish()
            guard sawValue else {
                return .failure(.init(reason: "missing", offset: 0, isSyntax: false, path: "value"))
            }
            return .success(observations)
        } catch {
            return .failure(error)
        }
    }

    /// Reads one presence object.
    private static func readPresence(
        _ scanner: inout JSONScanner, index: Int
    ) throws(JSONScanner.Failure) -> PresenceObservation {
        var path: String { "value[\(index)]" }
        var id: String?
        var availability: String?
        var activity: String?
        var statusMessage: String?
        var isOutOfOffice = false
        var outOfOfficeMessage: String?
        var sequenceNumber: String?
        var workLocationType: String?
        try within(path) { () throws(JSONScanner.Failure) in
            try scanner.readObject { scanner, key throws(JSONScanner.Failure) in
                try within("\(path).\(String(decoding: key, as: UTF8.self))") { () throws(JSONScanner.Failure) in
                    switch PresenceKey(key) {
                    case .id: id = try scanner.readLowercasedString()
                    case .availability: availability = try scanner.readString(known: PresenceVocabulary.word)
                    case .activity: activity = try scanner.readString(known: PresenceVocabulary.word)
                    case .sequenceNumber: sequenceNumber = try scanner.readOptionalString()
                    case .statusMessage: statusMessage = try readStatusMessage(&scanner)
                    case .outOfOfficeSettings:
                        try readOptionalObject(&scanner) { scanner, key throws(JSONScanner.Failure) in
                            if key.spells("message") {
                                outOfOfficeMessage = try scanner.readOptionalString()
                            } else if key.spells("isOutOfOffice") {
                                isOutOfOffice = try scanner.readOptionalBool() ?? false
                            } else {
                                try scanner.skipValue()
                            }
                        }
                    case .workLocation:
                        try readOptionalObject(&scanner) { scanner, key throws(JSONScanner.Failure) in
                            if key.spells("workLocationType") {
                                workLocationType =
                                    try scanner.readNullIfPresent()
                                    ? nil : try scanner.readString(known: PresenceVocabulary.word)
                            } else {
                                try scanner.skipValue()
                            }
                        }
                    case nil: try scanner.skipValue()
                    }
                }
            }
        }
        func missing(_ field: String) -> JSONScanner.Failure {
            .init(reason: "missing", offset: scanner.offset, isSyntax: false, path: "\(path).\(field)")
        }
        guard let id else { throw missing("id") }
        guard let availability else { throw missing("availability") }
        guard let activity else { throw missing("activity") }
        return PresenceObservation(
            userID: id,
            state: PresenceState(
                availability: availability, activity: activity, statusMessage: statusMessage,
                isOutOfOffice: isOutOfOffice, outOfOfficeMessage: outOfOfficeMessage,
                workLocationType: workLocationType),
            sequenceNumber: sequenceNumber)
    }

    /// `statusMessage.message.content`, or nil when any level is null or absent.
    private static func readStatusMessage(_ scanner: inout JSONScanner) throws(JSONScanner.Failure) -> String? {
        var content: String?
        try readOptionalObject(&scanner) { scanner, key throws(JSONScanner.Failure) in
            guard key.spells("message") else { return try scanner.skipValue() }
            try readOptionalObject(&scanner) { scanner, key throws(JSONScanner.Failure) in
                if key.spells("content") {
                    content = try scanner.readOptionalString()
                } else {
                    try scanner.skipValue()
                }
            }
        }
        return content
    }

    private static func readOptionalObject(
        _ scanner: inout JSONScanner,
        _ member: (inout JSONScanner, UnsafeBufferPointer<UInt8>) throws(JSONScanner.Failure) -> Void
    ) throws(JSONScanner.Failure) {
        if try scanner.readNullIfPresent() { return }
        try scanner.readObject(member)
    }

    /// Runs `body`, labelling a shape failure that has no path yet with `path`.
    private static func within<T>(
        _ path: @autoclosure () -> String, _ body: () throws(JSONScanner.Failure) -> T
    ) throws(JSONScanner.Failure) -> T {
        do {
            return try body()
        } catch var failure {
            if failure.path == nil { failure.path = path() }
            throw failure
        }
    }
}

/// The members of a presence object that `PresenceAnswer` reads, recognised from the key's bytes.
private enum PresenceKey {
    case id, availability, activity, sequenceNumber, statusMessage, outOfOfficeSettings, workLocation

    init?(_ key: UnsafeBufferPointer<UInt8>) {
        switch key.count {
        case 2 where key.spells("id"): self = .id
        case 8 where key.spells("activity"): self = .activity
        case 12 where key.spells("availability"): self = .availability
        case 12 where key.spells("workLocation"): self = .workLocation
        case 13 where key.spells("statusMessage"): self = .statusMessage
        case 14 where key.spells("sequenceNumber"): self = .sequenceNumber
        case 19 where key.spells("outOfOfficeSettings"): self = .outOfOfficeSettings
        default: return nil
        }
    }
}

/// Graph's documented availability, activity and work location values, as shared strings.
///
/// Every user's answer repeats a handful of words; handing out one shared instance of each means that the ones
/// longer than a small string (`InAConferenceCall`, `PresenceUnknown`, ...) cost no allocation per observation
/// and no memory per stored state. Values Graph adds later pass through unchanged.
enum PresenceVocabulary {
    /// Each word with its bytes, compared without going through `String`.
    private static let words: [(bytes: [UInt8], word: String)] = [
        "Available", "AvailableIdle", "Away", "BeRightBack", "Busy", "BusyIdle", "DoNotDisturb", "Offline",
        "PresenceUnknown", "InACall", "InAConferenceCall", "Inactive", "InAMeeting", "OffWork", "OutOfOffice",
        "Presenting", "UrgentInterruptionsOnly", "office", "remote", "timeOff", "unknown",
    ].map { (Array($0.utf8), $0) }

    /// The shared string spelled by `bytes`, or nil for a word not in the list.
    static func word(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        for entry in words where entry.bytes.count == bytes.count {
            if entry.bytes.withUnsafeBufferPointer({ $0.sameBytes(as: bytes) }) { return entry.word }
        }
        return nil
    }
}
