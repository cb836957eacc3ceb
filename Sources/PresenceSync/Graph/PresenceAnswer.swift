/// Reads getPresencesByUserId answers, refusing answers that are not the documented shape.
///
/// Graph may shorten presence objects, so only `id`, `availability` and `activity` are required; everything else
/// is optional and may be null. Unknown fields are skipped (but must still be valid JSON) and unknown
/// availability/activity values are kept as strings. One bad object rejects the whole answer: a batch is written
/// completely or not at all.
///
/// Two passes, one reader: `scan` walks a whole answer once and, per presence object, parses the id into a
/// `UserKey` and hashes exactly the compared fields into a fingerprint, without making a String or any other
/// allocation; `decode(object:)` reads one object in full, for the few users whose fingerprint changed. Both run
/// the same traversal (`readPresence`), so they cannot disagree on what an answer says.
///
/// **Omitted is not null.** A field is *omitted* when its key, or the key of an object on its way, is absent
/// (`statusMessage` missing, or `{"statusMessage": {}}`); it keeps its last known value. A `null` at any level
/// (`"statusMessage": null`, `"message": null`, `"content": null`) says there is none, and clears it.
/// `outOfOfficeSettings` carries two fields (`isOutOfOffice`, `message`), each omitted or not on its own;
/// `"outOfOfficeSettings": null` clears both.
enum PresenceAnswer {
    /// Scans a whole answer: every presence object's key, fingerprint and bytes, and the omissions per field.
    ///
    /// - Parameter presences: cleared, then filled; pass the same array for every answer to reuse its storage.
    static func scan(
        _ bytes: UnsafeBufferPointer<UInt8>, requestID: String?, into presences: inout [ScannedPresence],
        omissions: inout OmissionCounts
    ) throws(GraphError) {
        presences.removeAll(keepingCapacity: true)
        var scanner = JSONScanner(bytes)
        var sawValue = false
        let omissionsBefore = omissions
        do throws(JSONScanner.Failure) {
            try scanner.readObject { scanner, key throws(JSONScanner.Failure) in
                guard key.spells("value") else { return try scanner.skipValue() }
                // A repeated `value` replaces the earlier one (later keys win, as Foundation reads it; found by
                // the differential fuzzer): its users are not added to the first array's.
                sawValue = true
                presences.removeAll(keepingCapacity: true)
                omissions = omissionsBefore
                try within("value") { () throws(JSONScanner.Failure) in
                    try scanner.readArray { scanner, index throws(JSONScanner.Failure) in
                        var fields = PresenceFields(decoding: false)
                        let start = scanner.offset
                        try readPresence(&scanner, index: index, into: &fields)
                        omissions.add(fields.omitted)
                        presences.append(
                            ScannedPresence(
                                key: fields.key, fingerprint: fields.fingerprint, range: start..<scanner.offset))
                    }
                }
            }
            try scanner.finish()
        } catch {
            throw .malformedAnswer(reason: describe(error), requestID: requestID)
        }
        guard sawValue else { throw .malformedAnswer(reason: "value: missing", requestID: requestID) }
    }

    /// Reads one presence object that `scan` found in `answer`, in full.
    ///
    /// `userID` names the observation (the id as the poller asked for it, so no second copy of the id is made).
    static func decode(
        object presence: ScannedPresence, in answer: UnsafeBufferPointer<UInt8>, userID: String
    ) -> PresenceObservation {
        var scanner = JSONScanner(UnsafeBufferPointer(rebasing: answer[presence.range]))
        var fields = PresenceFields(decoding: true)
        do throws(JSONScanner.Failure) {
            try readPresence(&scanner, index: 0, into: &fields)
        } catch {
            // `scan` accepted these very bytes with the same reader, so this cannot happen.
            preconditionFailure("a scanned presence object failed to decode: \(error.reason)")
        }
        return fields.observation(userID: userID)
    }

    /// Decodes a whole answer into observations (ids lower-cased as sent): for the operator commands and tests;
    /// the poll cycle uses `scan` and `decode(object:)`.
    static func decode(_ bytes: some Collection<UInt8>, requestID: String?) throws(GraphError) -> [PresenceObservation]
    {
        let result: Result<[PresenceObservation], GraphError> =
            bytes.withContiguousStorageIfAvailable { decodeAll($0, requestID: requestID) }
            ?? Array(bytes).withUnsafeBufferPointer { decodeAll($0, requestID: requestID) }
        return try result.get()
    }

    private static func decodeAll(
        _ bytes: UnsafeBufferPointer<UInt8>, requestID: String?
    ) -> Result<[PresenceObservation], GraphError> {
        var presences: [ScannedPresence] = []
        var omissions = OmissionCounts()
        do {
            try scan(bytes, requestID: requestID, into: &presences, omissions: &omissions)
        } catch {
            return .failure(error)
        }
        return .success(
            presences.map { presence in
                var scanner = JSONScanner(UnsafeBufferPointer(rebasing: bytes[presence.range]))
                var fields = PresenceFields(decoding: true)
                try? readPresence(&scanner, index: 0, into: &fields)
                return fields.observation(userID: fields.texts?.id ?? "")
            })
    }

    static func describe(_ failure: JSONScanner.Failure) -> String {
        if failure.isSyntax { return "not valid JSON (\(failure.reason) at byte \(failure.offset))" }
        return (failure.path.map { "\($0): " } ?? "") + failure.reason
    }

    /// Reads one presence object into `fields`: the one traversal behind both `scan` and `decode(object:)`.
    private static func readPresence(
        _ scanner: inout JSONScanner, index: Int, into fields: inout PresenceFields
    ) throws(JSONScanner.Failure) {
        var path: String { "value[\(index)]" }
        try within(path) { () throws(JSONScanner.Failure) in
            try scanner.readObject { scanner, key throws(JSONScanner.Failure) in
                try within("\(path).\(String(decoding: key, as: UTF8.self))") { () throws(JSONScanner.Failure) in
                    switch PresenceKey(key) {
                    case .id: try fields.readID(&scanner)
                    case .availability:
                        // Read first: an optional-chained assignment would skip its right side when not decoding.
                        let text = try fields.availability.read(&scanner, keeping: fields.texts)
                        fields.texts?.availability = text
                    case .activity:
                        let text = try fields.activity.read(&scanner, keeping: fields.texts)
                        fields.texts?.activity = text
                    case .sequenceNumber:
                        if try scanner.readNullIfPresent() {
                            fields.texts?.sequenceNumber = nil
                        } else if let texts = fields.texts {
                            texts.sequenceNumber = try scanner.readString()
                        } else {
                            try scanner.withStringBytes { _ in }
                        }
                    case .statusMessage:
                        // A repeated key replaces the earlier value whole (as Foundation reads it), so an object
                        // starts from "omitted" rather than merging into what an earlier copy said.
                        if try scanner.readNullIfPresent() { return fields.statusMessage.clear() }
                        fields.statusMessage = FieldValue()
                        try scanner.readObject { scanner, key throws(JSONScanner.Failure) in
                            guard key.spells("message") else { return try scanner.skipValue() }
                            if try scanner.readNullIfPresent() { return fields.statusMessage.clear() }
                            fields.statusMessage = FieldValue()
                            try scanner.readObject { scanner, key throws(JSONScanner.Failure) in
                                guard key.spells("content") else { return try scanner.skipValue() }
                                let text = try fields.statusMessage.readOptional(&scanner, keeping: fields.texts)
                                fields.texts?.statusMessage = text
                            }
                        }
                    case .outOfOfficeSettings:
                        if try scanner.readNullIfPresent() {
                            fields.isOutOfOffice.set(false, null: true)
                            return fields.outOfOfficeMessage.clear()
                        }
                        fields.isOutOfOffice = FieldValue()
                        fields.outOfOfficeMessage = FieldValue()
                        try scanner.readObject { scanner, key throws(JSONScanner.Failure) in
                            if key.spells("message") {
                                let text = try fields.outOfOfficeMessage.readOptional(&scanner, keeping: fields.texts)
                                fields.texts?.outOfOfficeMessage = text
                            } else if key.spells("isOutOfOffice") {
                                let flag = try scanner.readOptionalBool()
                                fields.isOutOfOffice.set(flag ?? false, null: flag == nil)
                            } else {
                                try scanner.skipValue()
                            }
                        }
                    case .workLocation:
                        if try scanner.readNullIfPresent() { return fields.workLocationType.clear() }
                        fields.workLocationType = FieldValue()
                        try scanner.readObject { scanner, key throws(JSONScanner.Failure) in
                            guard key.spells("workLocationType") else { return try scanner.skipValue() }
                            let text = try fields.workLocationType.readOptional(&scanner, keeping: fields.texts)
                            fields.texts?.workLocationType = text
                        }
                    case nil: try scanner.skipValue()
                    }
                }
            }
        }
        func missing(_ field: String) -> JSONScanner.Failure {
            .init(reason: "missing", offset: scanner.offset, isSyntax: false, path: "\(path).\(field)")
        }
        guard fields.hasID else { throw missing("id") }
        guard fields.availability.isPresent else { throw missing("availability") }
        guard fields.activity.isPresent else { throw missing("activity") }
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

/// One presence object as the hot path sees it: whose it is, a fingerprint of what is compared, and where it is.
struct ScannedPresence {
    /// The object's id as a key; nil when it is not a canonical GUID (then no one asked for it: unexpected).
    var key: UserKey?
    /// A hash of the compared fields as sent (omitted, null or a value, and the value's decoded bytes): equal
    /// fingerprints mean equal answers, so an answer whose fingerprint the store already holds changes nothing.
    /// `sequenceNumber`, unknown members and the order of members do not count.
    var fingerprint: UInt64
    /// The object's bytes in the answer, for `PresenceAnswer.decode(object:in:userID:)`.
    var range: Range<Int>
}

/// What `PresenceAnswer.readPresence` learns of one object: always the key and the fingerprint's parts (plain
/// values, nothing to retain or release), and the texts themselves only when decoding.
private struct PresenceFields {
    var hasID = false
    var key: UserKey?
    var availability = FieldValue()
    var activity = FieldValue()
    var statusMessage = FieldValue()
    var isOutOfOffice = FieldValue()
    var outOfOfficeMessage = FieldValue()
    var workLocationType = FieldValue()
    /// The decoded texts, nil when only scanning.
    let texts: DecodedTexts?

    init(decoding: Bool) { texts = decoding ? DecodedTexts() : nil }

    mutating func readID(_ scanner: inout JSONScanner) throws(JSONScanner.Failure) {
        hasID = true
        let texts = self.texts
        key = try scanner.withStringBytes { bytes in
            texts?.id = UserIDs.lowercased(bytes)
            return UserKey(guid: bytes)
        }
    }

    var omitted: PresenceFieldSet {
        var omitted: PresenceFieldSet = []
        if !statusMessage.isPresent { omitted.insert(.statusMessage) }
        if !isOutOfOffice.isPresent { omitted.insert(.isOutOfOffice) }
        if !outOfOfficeMessage.isPresent { omitted.insert(.outOfOfficeMessage) }
        if !workLocationType.isPresent { omitted.insert(.workLocationType) }
        return omitted
    }

    /// The fields' hashes combined in a fixed order, so the order of members in the object does not matter.
    var fingerprint: UInt64 {
        var hasher = FingerprintHasher()
        availability.combine(into: &hasher)
        activity.combine(into: &hasher)
        statusMessage.combine(into: &hasher)
        isOutOfOffice.combine(into: &hasher)
        outOfOfficeMessage.combine(into: &hasher)
        workLocationType.combine(into: &hasher)
        let fingerprint = hasher.finalize()
        return fingerprint == 0 ? 1 : fingerprint  // 0 means "none" to the store
    }

    func observation(userID: String) -> PresenceObservation {
        /// The text of a field that holds a value; nil when it is null or omitted.
        func text(_ field: FieldValue, _ value: String?) -> String? { field.kind == .value ? value : nil }
        return PresenceObservation(
            userID: userID,
            state: PresenceState(
                availability: texts?.availability ?? "", activity: texts?.activity ?? "",
                statusMessage: text(statusMessage, texts?.statusMessage), isOutOfOffice: isOutOfOffice.flag,
                outOfOfficeMessage: text(outOfOfficeMessage, texts?.outOfOfficeMessage),
                workLocationType: text(workLocationType, texts?.workLocationType)),
            sequenceNumber: texts?.sequenceNumber, omitted: omitted, fingerprint: fingerprint)
    }
}

/// The texts of one presence object being decoded in full (a class, so that the scan-only path carries one nil
/// reference instead of seven optional strings to copy).
private final class DecodedTexts {
    var id: String?
    var availability: String?
    var activity: String?
    var statusMessage: String?
    var outOfOfficeMessage: String?
    var workLocationType: String?
    var sequenceNumber: String?
}

/// One compared field of a presence object as sent: left out, null, or a value (the hash of its decoded bytes).
private struct FieldValue {
    enum Kind: UInt8 {
        case omitted, null, value
    }

    var kind = Kind.omitted
    var hash: UInt64 = 0
    var flag = false

    var isPresent: Bool { kind != .omitted }

    func combine(into hasher: inout FingerprintHasher) {
        hasher.combine(UInt64(kind.rawValue))
        hasher.combine(hash)
    }

    mutating func clear() {
        kind = .null
        hash = 0
    }

    mutating func set(_ flag: Bool, null: Bool) {
        kind = null ? .null : .value
        self.flag = flag
        hash = flag ? 1 : 0
    }

    /// A string value, hashed from its decoded bytes; returns its text when `texts` is given (a word Graph repeats
    /// becomes a shared string, not a copy), else nil.
    mutating func read(_ scanner: inout JSONScanner, keeping texts: DecodedTexts?) throws(JSONScanner.Failure)
        -> String?
    {
        let decoding = texts != nil
        let (hash, text): (UInt64, String?) = try scanner.withStringBytes { bytes in
            var hasher = FingerprintHasher()
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
            guard decoding else { return (hasher.finalize(), nil) }
            return (hasher.finalize(), PresenceVocabulary.word(bytes) ?? String(decoding: bytes, as: UTF8.self))
        }
        self.hash = hash
        kind = .value
        return text
    }

    /// A string value or `null` (then nil).
    mutating func readOptional(
        _ scanner: inout JSONScanner, keeping texts: DecodedTexts?
    ) throws(JSONScanner.Failure) -> String? {
        if try scanner.readNullIfPresent() {
            clear()
            return nil
        }
        return try read(&scanner, keeping: texts)
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
