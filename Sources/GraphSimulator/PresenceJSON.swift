import Hummingbird

/// Writes getPresencesByUserId answers straight into a `ByteBuffer`.
///
/// Every catalog value is escaped once, at init, into a JSON fragment in one contiguous arena; serving a presence
/// is then ten `memcpy`s, 36 bytes of id and 16 hex digits, all through raw pointers inside a single buffer write.
/// That keeps a 650-user answer (about 210 KB) cheap even in unoptimised debug builds, where `ByteBuffer`'s
/// per-call overhead and `JSONEncoder` would dominate. Output follows Graph's v1.0 presence shape
/// (`graph-presence-facts.md`): `id`, `availability`, `activity`, `statusMessage` (null or message with content and
/// `contentType` "text", sometimes the 9999 expiry, never `publishedDateTime`), `outOfOfficeSettings`,
/// `sequenceNumber` and `workLocation` (null or `placeId` null, `source`, `workLocationType`).
///
/// An object that leaves fields out (``AnswerShortening``) is written from a second set of fragments on a separate
/// path, so complete objects pay one test of `ServedUser.omitted` and nothing else.
struct PresenceJSON: Sendable {
    /// Where a fragment sits in the arena.
    private struct Fragment: Sendable {
        let offset: Int
        let count: Int
    }

    private let arena: [UInt8]
    /// `","availability":"…","activity":"…","statusMessage":` (closing the id's quote), per pair.
    private let pairs: [Fragment]
    /// Index 0 is `null`, index i + 1 is status message i.
    private let statuses: [Fragment]
    /// `,"outOfOfficeSettings":{"message":`
    private let outOfOfficePrefix: Fragment
    /// Index 0 is `null`, index i + 1 is out-of-office message i.
    private let outOfOfficeMessages: [Fragment]
    /// `,"isOutOfOffice":false},"sequenceNumber":"` and its `true` twin.
    private let notOutOfOffice: Fragment
    private let outOfOffice: Fragment
    /// `","workLocation":`
    private let workLocationPrefix: Fragment
    /// Index 0 is `null}`, index i + 1 is work location i followed by `}` closing the presence.
    private let workLocations: [Fragment]
    /// Upper bound of one presence object plus its separating comma.
    private let maximumPresenceLength: Int
    /// The pieces a shortened object needs besides the ones above.
    private let shortened: ShortenedFragments

    /// Fragments for objects that leave fields out, where keys cannot be glued to the preceding value.
    private struct ShortenedFragments: Sendable {
        /// `","availability":"…","activity":"…"` (closing the id's quote), per pair.
        let pairs: [Fragment]
        /// `,"statusMessage":`
        let statusMessageKey: Fragment
        /// `,"isOutOfOffice":false}` and its `true` twin, closing `outOfOfficeSettings`.
        let notOutOfOffice: Fragment
        let outOfOffice: Fragment
        /// `,"sequenceNumber":"`
        let sequenceNumberKey: Fragment
        /// `"}`: closes the sequence number and the presence when `workLocation` is left out.
        let closing: Fragment
    }

    /// Escapes every catalog value once into its JSON fragment.
    init() {
        var arena: [UInt8] = []
        func add(_ text: String) -> Fragment {
            let fragment = Fragment(offset: arena.count, count: text.utf8.count)
            arena.append(contentsOf: text.utf8)
            return fragment
        }
        pairs = PresenceCatalog.activityPairs.map { pair in
            add(
                "\",\"availability\":\(JSONText.quoted(pair.availability)),"
                    + "\"activity\":\(JSONText.quoted(pair.activity)),\"statusMessage\":")
        }
        statuses =
            [add("null")]
            + PresenceCatalog.statusMessages.map { message in
                let expiry = ",\"expiryDateTime\":{\"dateTime\":\"9999-12-31T23:59:59.9999999\",\"timeZone\":\"UTC\"}"
                return add(
                    "{\"message\":{\"content\":\(JSONText.quoted(message.content)),\"contentType\":\"text\"}"
                        + (message.showsNeverExpires ? expiry : "") + "}")
            }
        outOfOfficePrefix = add(",\"outOfOfficeSettings\":{\"message\":")
        outOfOfficeMessages = [add("null")] + PresenceCatalog.outOfOfficeMessages.map { add(JSONText.quoted($0)) }
        notOutOfOffice = add(",\"isOutOfOffice\":false},\"sequenceNumber\":\"")
        outOfOffice = add(",\"isOutOfOffice\":true},\"sequenceNumber\":\"")
        workLocationPrefix = add("\",\"workLocation\":")
        workLocations =
            [add("null}")]
            + PresenceCatalog.workLocations.map { location in
                add(
                    "{\"placeId\":null,\"source\":\(JSONText.quoted(location.source)),"
                        + "\"workLocationType\":\(JSONText.quoted(location.type))}}")
            }
        shortened = ShortenedFragments(
            pairs: PresenceCatalog.activityPairs.map { pair in
                add(
                    "\",\"availability\":\(JSONText.quoted(pair.availability)),"
                        + "\"activity\":\(JSONText.quoted(pair.activity))")
            },
            statusMessageKey: add(",\"statusMessage\":"),
            notOutOfOffice: add(",\"isOutOfOffice\":false}"),
            outOfOffice: add(",\"isOutOfOffice\":true}"),
            sequenceNumberKey: add(",\"sequenceNumber\":\""),
            closing: add("\"}"))
        self.arena = arena
        let longest = { (fragments: [Fragment]) in fragments.map(\.count).max() ?? 0 }
        maximumPresenceLength =
            1 + 7 + UserDirectory.guidLength + longest(pairs) + longest(statuses)
            + outOfOfficePrefix.count + longest(outOfOfficeMessages) + max(notOutOfOffice.count, outOfOffice.count)
            + 16 + workLocationPrefix.count + longest(workLocations)
    }

    /// Writes `{"@odata.context":...,"value":[...]}` for the served users and, after them, a `PresenceUnknown`
    /// placeholder for each id in `unknownIDs`. `graphBaseURL` is the Graph host as the client addressed it.
    func writeAnswer(
        served: [SimulatedTenant.ServedUser], unknownIDs: [String], directory: UserDirectory, graphBaseURL: String,
        into buffer: inout ByteBuffer
    ) {
        let context = JSONText.quoted(graphBaseURL + "/v1.0/$metadata#Collection(microsoft.graph.presence)")
        let bound = served.count * maximumPresenceLength
        buffer.reserveCapacity(minimumWritableBytes: context.utf8.count + 32 + bound + unknownIDs.count * 300)
        buffer.writeStaticString("{\"@odata.context\":")
        buffer.writeString(context)
        buffer.writeStaticString(",\"value\":[")
        if !served.isEmpty {
            arena.withUnsafeBytes { arena in
                _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
                    var output = target.baseAddress!
                    for (position, user) in served.enumerated() {
                        if position > 0 {
                            output.storeBytes(of: UInt8(ascii: ","), as: UInt8.self)
                            output += 1
                        }
                        output = write(user, directory: directory, from: arena.baseAddress!, to: output)
                    }
                    return output - target.baseAddress!
                }
            }
        }
        for (position, id) in unknownIDs.enumerated() {
            if position > 0 || !served.isEmpty { buffer.writeStaticString(",") }
            buffer.writeStaticString("{\"id\":")
            buffer.writeString(JSONText.quoted(id))
            buffer.writeStaticString(",\"availability\":\"PresenceUnknown\",\"activity\":\"PresenceUnknown\",")
            buffer.writeStaticString("\"statusMessage\":null,\"outOfOfficeSettings\":{\"message\":null,")
            buffer.writeStaticString("\"isOutOfOffice\":false},\"sequenceNumber\":null,\"workLocation\":null}")
        }
        buffer.writeStaticString("]}")
    }

    /// Writes one presence object at `output` and returns the position after it.
    private func write(
        _ user: SimulatedTenant.ServedUser, directory: UserDirectory, from arena: UnsafeRawPointer,
        to start: UnsafeMutableRawPointer
    ) -> UnsafeMutableRawPointer {
        guard user.omitted.isEmpty else {
            return writeShortened(user, directory: directory, from: arena, to: start)
        }
        var output = Self.writeOpening(user, directory: directory, to: start)
        func copy(_ fragment: Fragment) {
            output.copyMemory(from: arena + fragment.offset, byteCount: fragment.count)
            output += fragment.count
        }
        let presence = user.presence
        copy(pairs[Int(presence.pair)])
        copy(statuses[Int(presence.statusMessage) + 1])
        copy(outOfOfficePrefix)
        copy(outOfOfficeMessages[Int(presence.outOfOfficeMessage) + 1])
        copy(presence.isOutOfOffice ? outOfOffice : notOutOfOffice)
        HexText.write(presence.sequence, uppercase: true, into: output)
        output += 16
        copy(workLocationPrefix)
        copy(workLocations[Int(presence.workLocation) + 1])
        return output
    }

    /// Writes `{"id":"<the user's id>` at `output` and returns the position after it: how every object starts.
    private static func writeOpening(
        _ user: SimulatedTenant.ServedUser, directory: UserDirectory, to output: UnsafeMutableRawPointer
    ) -> UnsafeMutableRawPointer {
        let openingLength = 7  // {"id":"
        output.copyMemory(from: "{\"id\":\"", byteCount: openingLength)
        directory.writeID(index: Int(user.index), into: output + openingLength)
        return output + openingLength + UserDirectory.guidLength
    }

    /// Writes one presence object without the fields in `user.omitted` (keys and values both absent, the other
    /// fields in their usual order) and returns the position after it. Never longer than the complete object.
    private func writeShortened(
        _ user: SimulatedTenant.ServedUser, directory: UserDirectory, from arena: UnsafeRawPointer,
        to start: UnsafeMutableRawPointer
    ) -> UnsafeMutableRawPointer {
        var output = Self.writeOpening(user, directory: directory, to: start)
        func copy(_ fragment: Fragment) {
            output.copyMemory(from: arena + fragment.offset, byteCount: fragment.count)
            output += fragment.count
        }
        let presence = user.presence
        copy(shortened.pairs[Int(presence.pair)])
        if !user.omitted.contains(.statusMessage) {
            copy(shortened.statusMessageKey)
            copy(statuses[Int(presence.statusMessage) + 1])
        }
        if !user.omitted.contains(.outOfOfficeSettings) {
            copy(outOfOfficePrefix)
            copy(outOfOfficeMessages[Int(presence.outOfOfficeMessage) + 1])
            copy(presence.isOutOfOffice ? shortened.outOfOffice : shortened.notOutOfOffice)
        }
        copy(shortened.sequenceNumberKey)
        HexText.write(presence.sequence, uppercase: true, into: output)
        output += 16
        if user.omitted.contains(.workLocation) {
            copy(shortened.closing)
        } else {
            copy(workLocationPrefix)
            copy(workLocations[Int(presence.workLocation) + 1])
        }
        return output
    }
}

/// Hex digits through a 256-entry table of digit pairs: half the work of nibble loops, which matters in debug.
enum HexText {
    private static let lowerPairs = pairTable("0123456789abcdef")
    private static let upperPairs = pairTable("0123456789ABCDEF")

    /// Writes the 16 hex digits of `value` (most significant first) at `target`.
    static func write(_ value: UInt64, uppercase: Bool, into target: UnsafeMutableRawPointer) {
        write(value, byteCount: 8, uppercase: uppercase, into: target)
    }

    /// Writes the 2 × `byteCount` hex digits of the low `byteCount` bytes of `value` at `target`.
    static func write(_ value: UInt64, byteCount: Int, uppercase: Bool, into target: UnsafeMutableRawPointer) {
        let table = uppercase ? upperPairs : lowerPairs
        table.withUnsafeBufferPointer { table in
            for byte in 0..<byteCount {
                let shift = UInt64((byteCount - 1 - byte) * 8)
                let pair = table[Int(truncatingIfNeeded: (value >> shift) & 0xFF)]
                target.storeBytes(of: pair, toByteOffset: byte * 2, as: UInt16.self)
            }
        }
    }

    /// Entry b holds the two ASCII digits of byte b in memory order (so a `storeBytes` writes them in order).
    private static func pairTable(_ digits: String) -> [UInt16] {
        let digits = Array(digits.utf8)
        return (0..<256).map { byte in
            let pair = [digits[byte >> 4], digits[byte & 0xF]]
            return pair.withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) }
        }
    }
}
