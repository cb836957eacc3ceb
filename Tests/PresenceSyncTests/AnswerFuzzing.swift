import Foundation

@testable import PresenceSync

// A differential fuzzer for `PresenceAnswer`: generated and damaged getPresencesByUserId answers go to the scanner
// and to Foundation's `JSONSerialization`, and an oracle built on Foundation's tree says what the scanner must
// answer. `AnswerFuzzTests` runs it. Longer than our files should be (it was written as one file while others
// edited the folder); it splits cleanly at the MARKs: documents and spellings, generator and mutations, oracle,
// judge with its allowed differences and known findings, byte-level facts, fingerprints.

// MARK: - Randomness

/// SplitMix64 (Steele, Lea, Flood 2014): every case is a pure function of its seed, so a finding replays exactly
/// from the seed a run printed. (The simulator has its own, internal to GraphSimulator.)
struct FuzzRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// The seed of case `index` of the run seeded `run`: cases are independent, so one replays without the others.
    static func caseSeed(run: UInt64, index: Int) -> UInt64 {
        var random = FuzzRandom(seed: run &+ UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03)
        return random.next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ count: Int) -> Int { Int(next(upperBound: UInt64(count))) }

    mutating func chance(_ probability: Double) -> Bool { Double(next() >> 11) * 0x1.0p-53 < probability }

    mutating func pick<T>(_ choices: [T]) -> T { choices[below(choices.count)] }
}

// MARK: - Documents and their spellings

/// A JSON value as the fuzzer builds it. Unlike Foundation's trees, members keep their order and may repeat,
/// strings may hold what no Swift `String` can (invalid UTF-8, lone surrogates), and `raw` splices bytes verbatim.
enum FuzzValue {
    case object([FuzzMember])
    case array([FuzzValue])
    case string(FuzzString)
    case number(String)
    case bool(Bool)
    case null
    case raw([UInt8])
}

struct FuzzMember {
    var key: FuzzString
    var value: FuzzValue
}

/// String content in pieces, because some of what a hostile answer carries cannot be a Swift `String`.
struct FuzzString: ExpressibleByStringLiteral {
    enum Piece {
        case text(String)
        /// Bytes put inside the quotes as they are: invalid UTF-8.
        case invalidUTF8([UInt8])
        /// One UTF-16 code unit spelled as a `\u` escape: a surrogate without its partner, or what follows one.
        case escapedUnit(UInt16)
    }

    var pieces: [Piece]

    init(_ text: String) { pieces = [.text(text)] }
    init(stringLiteral text: String) { self.init(text) }

    /// The text when it is plain text (keys compared by the ordered reader).
    var plainText: String? {
        guard pieces.count == 1, case .text(let text) = pieces[0] else { return nil }
        return text
    }
}

/// Spells a `FuzzValue` as bytes, choosing at random among the spellings JSON allows for one value: whitespace
/// around tokens and, per character, its UTF-8 bytes, a short escape or a `\u` escape (a surrogate pair above
/// U+FFFF) in either hex case. Two spellings of one value differ only where JSON says nothing differs.
struct JSONSpeller {
    private var random: FuzzRandom
    /// How often whitespace goes around a token; 0 spells compact JSON.
    private let whitespaceRate: Double
    /// How often a character that need not be escaped is; the ones that must be always are.
    private let escapeRate: Double
    private(set) var bytes: [UInt8] = []

    init(seed: UInt64, whitespaceRate: Double = 0, escapeRate: Double = 0) {
        random = FuzzRandom(seed: seed)
        self.whitespaceRate = whitespaceRate
        self.escapeRate = escapeRate
    }

    static func compact(_ value: FuzzValue) -> [UInt8] {
        var speller = JSONSpeller(seed: 0)
        speller.spell(value)
        return speller.bytes
    }

    mutating func spell(_ value: FuzzValue) {
        space()
        switch value {
        case .object(let members):
            put("{")
            for (index, member) in members.enumerated() {
                if index > 0 { put(",") }
                space()
                spell(member.key)
                space()
                put(":")
                spell(member.value)
            }
            space()
            put("}")
        case .array(let elements):
            put("[")
            for (index, element) in elements.enumerated() {
                if index > 0 { put(",") }
                spell(element)
            }
            space()
            put("]")
        case .string(let string): spell(string)
        case .number(let text): put(text)
        case .bool(let flag): put(flag ? "true" : "false")
        case .null: put("null")
        case .raw(let raw): bytes += raw
        }
        space()
    }

    private static let shortEscapes: [Unicode.Scalar: String] = [
        "\"": "\\\"", "\\": "\\\\", "/": "\\/", "\u{8}": "\\b", "\u{C}": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
    ]
    static let hexDigits = (lower: Array("0123456789abcdef".utf8), upper: Array("0123456789ABCDEF".utf8))

    private mutating func spell(_ string: FuzzString) {
        put("\"")
        for piece in string.pieces {
            switch piece {
            case .text(let text) where escapeRate == 0 && !text.utf8.contains(where: Self.mustEscape):
                bytes += text.utf8  // long strings, quickly
            case .text(let text): for scalar in text.unicodeScalars { spell(scalar) }
            case .invalidUTF8(let raw): bytes += raw
            case .escapedUnit(let unit): escape(unit)
            }
        }
        put("\"")
    }

    private static func mustEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20
    }

    private mutating func spell(_ scalar: Unicode.Scalar) {
        let mustEscape = scalar.isASCII && Self.mustEscape(UInt8(scalar.value))
        guard mustEscape || (escapeRate > 0 && random.chance(escapeRate)) else {
            return UTF8.encode(scalar) { bytes.append($0) }
        }
        if let short = Self.shortEscapes[scalar], random.chance(0.7) {
            put(short)
        } else if scalar.value > 0xFFFF {
            let offset = scalar.value - 0x1_0000
            escape(UInt16(0xD800 + (offset >> 10)))
            escape(UInt16(0xDC00 + (offset & 0x3FF)))
        } else {
            escape(UInt16(scalar.value))
        }
    }

    private mutating func escape(_ unit: UInt16) {
        let digits = random.chance(0.5) ? Self.hexDigits.lower : Self.hexDigits.upper
        put("\\u")
        for shift in [12, 8, 4, 0] { bytes.append(digits[Int((unit >> shift) & 0xF)]) }
    }

    private mutating func space() {
        guard whitespaceRate > 0, random.chance(whitespaceRate) else { return }
        put(random.pick([" ", "\n", "\t", "\r\n", " \t\n  "]))
    }

    private mutating func put(_ text: String) { bytes += text.utf8 }
}

// MARK: - Generating answers

/// One user's presence as Graph means it, before it is spelled: which fields are omitted, null or set, and to what.
struct PresenceModel {
    enum Field<Value> {
        case omitted, null
        case value(Value)
    }

    var id: FuzzString
    var availability: FuzzString
    var activity: FuzzString
    var statusMessage: Field<FuzzString>
    var outOfOfficeMessage: Field<FuzzString>
    var isOutOfOffice: Field<Bool>
    var workLocationType: Field<FuzzString>
}

/// Makes presence models, spells them as answers, and reshapes answers (`reshape`) into near misses.
struct AnswerGenerator {
    var random: FuzzRandom
    /// The longest generated string, in characters.
    var longestString: Int

    static let words: [String] = [
        "Available", "AvailableIdle", "Away", "BeRightBack", "Busy", "BusyIdle", "DoNotDisturb", "Offline",
        "PresenceUnknown", "InACall", "InAConferenceCall", "Inactive", "InAMeeting", "OffWork", "OutOfOffice",
        "Presenting", "UrgentInterruptionsOnly", "office", "remote", "timeOff", "unknown", "available", "BUSY",
        "FocusTime", "", " Busy", "Busy\u{0}", "Ünknown", "🎉",
    ]
    static let texts: [String] = [
        "", "Back at 3", "Hey \"you\" \\ / 日本語 🎉\nline2", "tab\there\u{0}nul\u{7}bell\u{1F}", "e\u{301} é",
        "\u{2028}\u{2029}\u{FEFF}\u{FFFD}\u{FFFF}\u{10FFFF}", "<b>&amp;</b>", " ", "\u{1F468}\u{200D}\u{1F469}",
        "\\u0041 is no escape here", "null", "{\"value\":[]}", "\u{7F}\u{80}\u{7FF}\u{800}",
    ]
    static let oddIDs: [String] = [
        "alice@contoso.com", "ALICE@Contoso.COM", "", "{fa8bf3dc-eca7-46b7-bad1-db199b62afc3}",
        "FA8BF3DC-ECA7-46B7-BAD1-DB199B62AFC", "fa8bf3dc-eca7-46b7-bad1-db199b62afcg",
        "fa8bf3dc-eca7-46b7-bad1-db199b62af\u{e9}", "Ωmega-ÜSER", "fa8bf3dceca746b7bad1db199b62afc3",
        "fa8bf3dc-eca7-46b7-bad1-db199b62afc3 ",
    ]
    /// Every number form JSON allows, and some Foundation cannot represent (an allowed difference).
    static let numbers: [String] = [
        "0", "-0", "7", "-12", "3.25", "-0.5", "1e5", "1E+2", "2.5e-3", "6.02E23", "123456789012345678901234567890",
        "1e308", "-1.7976931348623157e308", "4.9e-324", "1e-400", "0.0", "10", "1e400", "-1E+999",
    ]
    /// Keys no level of a presence object reads, among them known keys in another case.
    static let unknownKeys: [String] = [
        "@odata.type", "publishedDateTime", "expiryDateTime", "contentType", "placeId", "source", "ID", "Id",
        "Availability", "ACTIVITY", "StatusMessage", "Message", "Content", "isoutofoffice", "WorkLocationType",
        "sequencenumber", "", "x", "💡", "tab\there", "\u{0}", "id ", " id", "Value",
    ]

    init(seed: UInt64, longestString: Int) {
        random = FuzzRandom(seed: seed)
        self.longestString = longestString
    }

    mutating func presence() -> PresenceModel {
        PresenceModel(
            id: id(), availability: word(), activity: word(), statusMessage: field { $0.text() },
            outOfOfficeMessage: field { $0.text() }, isOutOfOffice: field { $0.random.chance(0.5) },
            workLocationType: field { $0.word() })
    }

    /// An answer whose `value` holds `objects`, with Graph's `@odata.context` and unknown members, in any order.
    mutating func answer(_ objects: [FuzzValue]) -> FuzzValue {
        var members = [FuzzMember(key: "value", value: .array(objects))]
        if random.chance(0.5) {
            let context = "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.presence)"
            members.append(FuzzMember(key: "@odata.context", value: .string(FuzzString(context))))
        }
        members += unknownMembers(count: random.below(2))
        members.shuffle(using: &random)
        return .object(members)
    }

    /// A presence object saying what `model` says, spelled at random: member order, the level an omission or a
    /// null sits at (`{}` and `{"message":{}}` omit a status message as much as leaving it out does), unknown
    /// members and the sequence number; none of which changes what the object says or its fingerprint.
    mutating func object(_ model: PresenceModel) -> FuzzValue {
        var members = [
            FuzzMember(key: "id", value: .string(model.id)),
            FuzzMember(key: "availability", value: .string(model.availability)),
            FuzzMember(key: "activity", value: .string(model.activity)),
        ]
        switch random.below(3) {
        case 0: break
        case 1: members.append(FuzzMember(key: "sequenceNumber", value: .null))
        default: members.append(FuzzMember(key: "sequenceNumber", value: .string(text())))
        }
        let status = model.statusMessage
        if let member = nested(status, ["statusMessage", "message", "content"], level: level(status, of: 3), at: 0) {
            members.append(member)
        }
        let work = model.workLocationType
        if let member = nested(work, ["workLocation", "workLocationType"], level: level(work, of: 2), at: 0) {
            members.append(member)
        }
        if let member = outOfOfficeSettings(message: model.outOfOfficeMessage, flag: model.isOutOfOffice) {
            members.append(member)
        }
        members += unknownMembers(count: random.below(3))
        members.shuffle(using: &random)
        return .object(members)
    }

    private mutating func field<Value>(_ value: (inout AnswerGenerator) -> Value) -> PresenceModel.Field<Value> {
        switch random.below(3) {
        case 0: .omitted
        case 1: .null
        default: .value(value(&self))
        }
    }

    /// Where along a path of `depth` keys an omission or a null sits (a value always sits at the end).
    private mutating func level(_ field: PresenceModel.Field<FuzzString>, of depth: Int) -> Int {
        if case .value = field { return depth - 1 }
        return random.below(depth)
    }

    /// The member for `path[index...]`: objects down to `level`, where the field is left out, null, or the value.
    private mutating func nested(
        _ field: PresenceModel.Field<FuzzString>, _ path: [String], level: Int, at index: Int
    ) -> FuzzMember? {
        let key = FuzzString(path[index])
        if index == level {
            switch field {
            case .omitted: return nil
            case .null: return FuzzMember(key: key, value: .null)
            case .value(let text): return FuzzMember(key: key, value: .string(text))
            }
        }
        var members = unknownMembers(count: random.below(2))
        if let inner = nested(field, path, level: level, at: index + 1) { members.append(inner) }
        members.shuffle(using: &random)
        return FuzzMember(key: key, value: .object(members))
    }

    private mutating func outOfOfficeSettings(
        message: PresenceModel.Field<FuzzString>, flag: PresenceModel.Field<Bool>
    ) -> FuzzMember? {
        let briefly = random.chance(0.5)
        if case .null = message, case .null = flag, briefly {
            return FuzzMember(key: "outOfOfficeSettings", value: .null)
        }
        if case .omitted = message, case .omitted = flag, briefly { return nil }
        var members = unknownMembers(count: random.below(2))
        switch message {
        case .omitted: break
        case .null: members.append(FuzzMember(key: "message", value: .null))
        case .value(let text): members.append(FuzzMember(key: "message", value: .string(text)))
        }
        switch flag {
        case .omitted: break
        case .null: members.append(FuzzMember(key: "isOutOfOffice", value: .null))
        case .value(let flag): members.append(FuzzMember(key: "isOutOfOffice", value: .bool(flag)))
        }
        members.shuffle(using: &random)
        return FuzzMember(key: "outOfOfficeSettings", value: .object(members))
    }

    /// Mostly a GUID in random case (the scanner keys it; the observation lower-cases it), sometimes anything else.
    mutating func id() -> FuzzString {
        guard random.chance(0.85) else { return FuzzString(random.pick(Self.oddIDs)) }
        let style = random.below(3)
        var text: [UInt8] = []
        for index in 0..<36 {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                text.append(UInt8(ascii: "-"))
                continue
            }
            let upper = style == 1 || (style == 2 && random.chance(0.5))
            let digits = upper ? JSONSpeller.hexDigits.upper : JSONSpeller.hexDigits.lower
            text.append(digits[random.below(16)])
        }
        return FuzzString(String(decoding: text, as: UTF8.self))
    }

    mutating func word() -> FuzzString { random.chance(0.8) ? FuzzString(random.pick(Self.words)) : text() }

    mutating func text() -> FuzzString {
        switch random.below(20) {
        case 0..<10: return FuzzString(random.pick(Self.texts))
        case 10..<19:
            var scalars = String.UnicodeScalarView()
            for _ in 0..<random.below(24) { scalars.append(scalar()) }
            return FuzzString(String(scalars))
        default:
            let chunk = random.pick(["a", "ab\u{e9}", "日本", "\\\"", "🎉 ", "\n"])
            let length = longLength()
            return FuzzString(String(String(repeating: chunk, count: length / chunk.count + 1).prefix(length)))
        }
    }

    /// A long string's length, log-uniform up to `longestString`: mostly kilobytes, now and then the limit.
    mutating func longLength() -> Int {
        let bits = Int.bitWidth - max(1, longestString).leadingZeroBitCount
        return 1 + random.below(min(longestString, 1 << random.below(bits + 1)))
    }

    private mutating func scalar() -> Unicode.Scalar {
        let value: UInt32 =
            switch random.below(8) {
            case 0: UInt32(random.below(0x20))
            case 1: 0x80 + UInt32(random.below(0xD800 - 0x80))
            case 2: 0xE000 + UInt32(random.below(0x1_0000 - 0xE000))
            case 3: 0x1_0000 + UInt32(random.below(0x11_0000 - 0x1_0000))
            case 4: random.pick([0x22, 0x5C, 0x2F])
            default: 0x20 + UInt32(random.below(0x5F))
            }
        return Unicode.Scalar(value) ?? "?"
    }

    mutating func unknownValue(depth: Int = 0) -> FuzzValue {
        switch random.below(depth >= 3 ? 4 : 6) {
        case 0: .string(text())
        case 1: .number(random.pick(Self.numbers))
        case 2: .bool(random.chance(0.5))
        case 3: .null
        case 4: .array((0..<random.below(4)).map { _ in unknownValue(depth: depth + 1) })
        default: .object(unknownMembers(count: random.below(4), depth: depth + 1))
        }
    }

    mutating func unknownMembers(count: Int, depth: Int = 1) -> [FuzzMember] {
        (0..<count).map { _ in
            FuzzMember(key: FuzzString(random.pick(Self.unknownKeys)), value: unknownValue(depth: depth))
        }
    }
}

// MARK: - Mutations

extension AnswerGenerator {
    /// Reshapes `document` at a random place: a value of the wrong type (a number where a string belongs), a
    /// member dropped, repeated or renamed in another case, nesting past the scanner's and Foundation's limits, the
    /// answer wrapped, invalid UTF-8 or lone surrogates in a string, a huge string.
    mutating func reshape(_ document: inout FuzzValue) {
        var places: [(path: [Int], value: FuzzValue)] = []
        Self.collect(document, [], into: &places)
        let objects = places.filter { if case .object(let members) = $0.value { !members.isEmpty } else { false } }
        let strings = places.filter { if case .string = $0.value { true } else { false } }
        switch random.below(9) {
        case 0 where !objects.isEmpty:
            let place = random.pick(objects)
            Self.update(&document, at: place.path[...]) { value in
                guard case .object(var members) = value else { return }
                members.remove(at: random.below(members.count))
                value = .object(members)
            }
        case 1 where !objects.isEmpty:
            let place = random.pick(objects)
            Self.update(&document, at: place.path[...]) { value in
                guard case .object(var members) = value else { return }
                var copy = members[random.below(members.count)]
                if random.chance(0.5) { reshape(&copy.value) }
                members.insert(copy, at: random.below(members.count + 1))
                value = .object(members)
            }
        case 2 where !objects.isEmpty:
            let depth = random.pick([30, 60, 61, 62, 63, 64, 65, 100, 510, 511, 512, 600, 3000])
            let deep = Self.nesting(depth: depth, objects: random.chance(0.5))
            Self.update(&document, at: random.pick(objects).path[...]) { value in
                guard case .object(var members) = value else { return }
                members.insert(FuzzMember(key: "deep", value: .raw(deep)), at: random.below(members.count + 1))
                value = .object(members)
            }
        case 3:
            switch random.below(3) {
            case 0: document = .array([document])
            case 1: document = .object([FuzzMember(key: "value", value: document)])
            default: document = .object([FuzzMember(key: "value", value: .array([document]))])
            }
        case 4 where !objects.isEmpty:
            Self.update(&document, at: random.pick(objects).path[...]) { value in
                guard case .object(var members) = value else { return }
                let index = random.below(members.count)
                let key = members[index].key.plainText ?? ""
                let recased = random.chance(0.5) ? key.uppercased() : key.prefix(1).uppercased() + key.dropFirst()
                members[index].key = FuzzString(recased == key ? key.lowercased() + "X" : recased)
                value = .object(members)
            }
        case 5 where !strings.isEmpty, 6 where !strings.isEmpty:
            let pieces: [FuzzString.Piece] =
                random.chance(0.5)
                ? [.invalidUTF8(random.pick(ByteMutator.invalidUTF8))]
                : random.pick(Self.surrogates).map { .escapedUnit($0) }
            Self.update(&document, at: random.pick(strings).path[...]) { value in
                guard case .string(var string) = value else { return }
                string.pieces.insert(contentsOf: pieces, at: random.below(string.pieces.count + 1))
                value = .string(string)
            }
        case 7 where !strings.isEmpty:
            let huge = FuzzString(String(repeating: random.pick(["x", "\\", "é", "🎉"]), count: longLength()))
            Self.update(&document, at: random.pick(strings).path[...]) { $0 = .string(huge) }
        default:
            let place = random.pick(places)
            guard !place.path.isEmpty else {
                document = .array([])
                return
            }
            let replacements: [FuzzValue] = [
                .number(random.pick(Self.numbers)), .bool(random.chance(0.5)), .null, .array([]),
                .array([.string(text())]), .object([]), .string(text()),
            ]
            let replacement = random.pick(replacements)
            Self.update(&document, at: place.path[...]) { $0 = replacement }
        }
    }

    /// UTF-16 units spelled as `\u` escapes: lone surrogates, a high one followed by a non-surrogate or by
    /// another high one, and a valid pair for contrast.
    static let surrogates: [[UInt16]] = [
        [0xD800], [0xDBFF], [0xDC00], [0xDFFF], [0xD800, 0x0041], [0xD800, 0xD800, 0xDC00], [0xD83D, 0xDE00],
        [0xDE00, 0xD83D],
    ]

    /// `depth` nested arrays, or objects with one member each.
    static func nesting(depth: Int, objects: Bool) -> [UInt8] {
        let open = objects ? #"{"a":"# : "["
        let close = objects ? "}" : "]"
        let middle = objects ? "{}" : "[]"
        return Array(
            (String(repeating: open, count: depth - 1) + middle + String(repeating: close, count: depth - 1)).utf8)
    }

    static func collect(_ value: FuzzValue, _ path: [Int], into places: inout [(path: [Int], value: FuzzValue)]) {
        places.append((path, value))
        switch value {
        case .object(let members):
            for (index, member) in members.enumerated() { collect(member.value, path + [index], into: &places) }
        case .array(let elements):
            for (index, element) in elements.enumerated() { collect(element, path + [index], into: &places) }
        default: break
        }
    }

    static func update(_ value: inout FuzzValue, at path: ArraySlice<Int>, _ change: (inout FuzzValue) -> Void) {
        guard let first = path.first else { return change(&value) }
        switch value {
        case .object(var members):
            update(&members[first].value, at: path.dropFirst(), change)
            value = .object(members)
        case .array(var elements):
            update(&elements[first], at: path.dropFirst(), change)
            value = .array(elements)
        default: change(&value)
        }
    }
}

/// Damage after spelling: what a cut connection, a flipped bit or a broken proxy does to an answer.
enum ByteMutator {
    static let invalidUTF8: [[UInt8]] = [
        [0xFF], [0x80], [0xC0, 0xAF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
        [0xF0, 0x9F, 0x8E], [0xFE, 0xFF], [0xF8, 0x88, 0x80, 0x80, 0x80],
    ]
    static let interesting: [[UInt8]] =
        invalidUTF8
        + [
            "\"", "\\", "{", "}", "[", "]", ",", ":", "\0", "\n", " ", "\u{FEFF}", "null", "\\u", "\\uD800", "-0",
            "1e999", "01", "\"id\":1,", ",\"value\":[]", "\u{7F}",
        ].map { Array($0.utf8) }

    static func mutate(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        let position = random.below(bytes.count + 1)
        switch random.below(9) {
        case 7:
            let closers = bytes.indices.filter { bytes[$0] == UInt8(ascii: "]") || bytes[$0] == UInt8(ascii: "}") }
            if !closers.isEmpty { bytes.insert(UInt8(ascii: ","), at: random.pick(closers)) }
        case 8: bytes.insert(contentsOf: [0xEF, 0xBB, 0xBF], at: 0)
        case 0: bytes.removeSubrange(position...)
        case 1 where !bytes.isEmpty: bytes[random.below(bytes.count)] ^= 1 << random.below(8)
        case 2 where !bytes.isEmpty: bytes[random.below(bytes.count)] = UInt8(random.below(256))
        case 3: bytes.insert(contentsOf: random.pick(interesting), at: position)
        case 4: bytes.removeSubrange(position..<min(bytes.count, position + 1 + random.below(8)))
        case 5:
            let end = min(bytes.count, position + 1 + random.below(64))
            bytes.insert(contentsOf: bytes[position..<end], at: random.below(bytes.count + 1))
        default: bytes.insert(UInt8(random.below(256)), at: position)
        }
    }
}

/// The cases of a run: each a generated answer, reshaped in 40% of cases and damaged byte by byte in 35%.
enum AnswerFuzzer {
    /// `longestString` bounds one case in a hundred; the others stay under 4 KiB a string, so that a run spends
    /// its time on many shapes rather than on copying megabytes.
    static func bytes(seed: UInt64, longestString: Int) -> [UInt8] {
        var random = FuzzRandom(seed: seed)
        let longest = random.chance(0.01) ? longestString : min(longestString, 4_096)
        var generator = AnswerGenerator(seed: random.next(), longestString: longest)
        let users = (0..<random.pick([0, 1, 1, 2, 3, 5, 12])).map { _ in generator.presence() }
        var document = generator.answer(users.map { generator.object($0) })
        if random.chance(0.4) {
            for _ in 0...random.below(2) { generator.reshape(&document) }
        }
        var speller = JSONSpeller(
            seed: random.next(), whitespaceRate: random.pick([0, 0, 0.1, 0.5]),
            escapeRate: random.pick([0, 0, 0.05, 0.5]))
        speller.spell(document)
        var bytes = speller.bytes
        if random.chance(0.35) {
            for _ in 0...random.below(3) { ByteMutator.mutate(&bytes, &random) }
        }
        return bytes
    }
}

// MARK: - The oracle

/// What one decoded presence says, compared byte for byte: Swift's `==` on strings treats canonically equivalent
/// spellings as equal, which would hide a scanner that normalises or mangles text.
struct ObservedPresence: Equatable, CustomStringConvertible {
    var userID: [UInt8]
    var availability: [UInt8]
    var activity: [UInt8]
    var statusMessage: [UInt8]?
    var isOutOfOffice: Bool
    var outOfOfficeMessage: [UInt8]?
    var workLocationType: [UInt8]?
    var sequenceNumber: [UInt8]?
    var omitted: PresenceFieldSet

    var description: String {
        func text(_ bytes: [UInt8]?) -> String {
            guard let bytes else { return "nil" }
            let text = String(decoding: bytes, as: UTF8.self)
            return (text.count > 40 ? String(text.prefix(40)) + "…(\(bytes.count) bytes)" : text).debugDescription
        }
        return "{id \(text(userID)), \(text(availability))/\(text(activity)), status \(text(statusMessage)), "
            + "ooo \(isOutOfOffice) \(text(outOfOfficeMessage)), work \(text(workLocationType)), "
            + "seq \(text(sequenceNumber)), omitted \(omitted.fields.map(\.rawValue))}"
    }
}

extension ObservedPresence {
    init(_ observation: PresenceObservation) {
        self.init(
            userID: Array(observation.userID.utf8), availability: Array(observation.state.availability.utf8),
            activity: Array(observation.state.activity.utf8),
            statusMessage: observation.state.statusMessage.map { Array($0.utf8) },
            isOutOfOffice: observation.state.isOutOfOffice,
            outOfOfficeMessage: observation.state.outOfOfficeMessage.map { Array($0.utf8) },
            workLocationType: observation.state.workLocationType.map { Array($0.utf8) },
            sequenceNumber: observation.sequenceNumber.map { Array($0.utf8) }, omitted: observation.omitted)
    }
}

/// What Foundation says an answer means: not JSON, JSON of the wrong shape, or these users.
enum ExpectedAnswer: CustomStringConvertible {
    case notJSON(String)
    case wrongShape(String)
    case users([ObservedPresence])

    var description: String {
        switch self {
        case .notJSON(let reason): "not JSON (\(reason))"
        case .wrongShape(let reason): "wrong shape (\(reason))"
        case .users(let users): "\(users.count) users \(users)"
        }
    }
}

/// The documented semantics (PresenceAnswer.swift's header) applied to `JSONSerialization`'s tree, written
/// independently of the scanner: required `id`, `availability`, `activity` strings; `sequenceNumber` string or
/// null; `statusMessage.message.content`, `outOfOfficeSettings.{message,isOutOfOffice}` and
/// `workLocation.workLocationType` omitted when a key on the way is absent and cleared by a null at any level;
/// empty messages and work locations read as none; ids lower-cased in ASCII only.
enum FoundationOracle {
    struct ShapeError: Error {
        var reason: String
    }

    private enum Member {
        case absent, null, other
        case string(String)
        case bool(Bool)
        case object([String: Any])
    }

    /// Foundation hands booleans back as NSNumbers, which `as? Bool` also accepts for 0 and 1: the class tells.
    private static let booleanClass = ObjectIdentifier(type(of: NSNumber(value: true)))

    static func expectation(_ bytes: [UInt8]) -> ExpectedAnswer {
        let tree: Any
        do {
            tree = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
        } catch {
            return .notJSON((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)")
        }
        do throws(ShapeError) {
            return .users(try answer(tree))
        } catch {
            return .wrongShape(error.reason)
        }
    }

    private static func answer(_ tree: Any) throws(ShapeError) -> [ObservedPresence] {
        guard let top = tree as? [String: Any] else { throw ShapeError(reason: "not an object") }
        guard let value = top["value"] else { throw ShapeError(reason: "value: missing") }
        guard let list = value as? [Any] else { throw ShapeError(reason: "value: not an array") }
        var users: [ObservedPresence] = []
        for element in list {
            guard let object = element as? [String: Any] else { throw ShapeError(reason: "a presence: not an object") }
            users.append(try presence(object))
        }
        return users
    }

    private static func presence(_ object: [String: Any]) throws(ShapeError) -> ObservedPresence {
        func required(_ key: String) throws(ShapeError) -> String {
            guard case .string(let text) = member(object, key) else { throw ShapeError(reason: "\(key): not a string") }
            return text
        }
        let id = try required("id")
        let availability = try required("availability")
        let activity = try required("activity")
        let sequenceNumber: String?
        switch member(object, "sequenceNumber") {
        case .absent, .null: sequenceNumber = nil
        case .string(let text): sequenceNumber = text
        default: throw ShapeError(reason: "sequenceNumber: not a string")
        }
        var omitted: PresenceFieldSet = []
        let status = try text(object, ["statusMessage", "message", "content"], .statusMessage, &omitted)
        let work = try text(object, ["workLocation", "workLocationType"], .workLocationType, &omitted)
        var outOfOfficeMessage: String?
        var isOutOfOffice = false
        switch member(object, "outOfOfficeSettings") {
        case .absent: omitted.formUnion([.outOfOfficeMessage, .isOutOfOffice])
        case .null: break
        case .object(let settings):
            outOfOfficeMessage = try text(settings, ["message"], .outOfOfficeMessage, &omitted)
            switch member(settings, "isOutOfOffice") {
            case .absent: omitted.insert(.isOutOfOffice)
            case .null: break
            case .bool(let flag): isOutOfOffice = flag
            default: throw ShapeError(reason: "isOutOfOffice: not a boolean")
            }
        default: throw ShapeError(reason: "outOfOfficeSettings: not an object")
        }
        func bytes(_ text: String?) -> [UInt8]? { text.flatMap { $0.isEmpty ? nil : Array($0.utf8) } }
        let lowered = id.unicodeScalars.map { ("A"..."Z").contains($0) ? Unicode.Scalar($0.value + 32)! : $0 }
        return ObservedPresence(
            userID: Array(String(String.UnicodeScalarView(lowered)).utf8), availability: Array(availability.utf8),
            activity: Array(activity.utf8), statusMessage: bytes(status), isOutOfOffice: isOutOfOffice,
            outOfOfficeMessage: bytes(outOfOfficeMessage), workLocationType: bytes(work),
            sequenceNumber: sequenceNumber.map { Array($0.utf8) }, omitted: omitted)
    }

    /// The string at the end of `path`: nil (and `field` omitted) when a key is absent, nil when a null is met.
    private static func text(
        _ object: [String: Any], _ path: [String], _ field: PresenceFieldSet, _ omitted: inout PresenceFieldSet
    ) throws(ShapeError) -> String? {
        var object = object
        for (index, key) in path.enumerated() {
            switch member(object, key) {
            case .absent:
                omitted.insert(field)
                return nil
            case .null: return nil
            case .string(let text) where index == path.count - 1: return text
            case .object(let inner) where index < path.count - 1: object = inner
            default: throw ShapeError(reason: "\(key): wrong type")
            }
        }
        return nil
    }

    private static func member(_ object: [String: Any], _ key: String) -> Member {
        guard let value = object[key] else { return .absent }
        if value is NSNull { return .null }
        if let text = value as? String { return .string(text) }
        if let inner = value as? [String: Any] { return .object(inner) }
        if ObjectIdentifier(type(of: value)) == booleanClass, let flag = value as? Bool { return .bool(flag) }
        return .other
    }
}

// MARK: - Judging

/// Where the scanner may answer differently from Foundation, and why the scanner is right.
///
/// - `invalidUTF8`: Foundation refuses a document with invalid UTF-8 anywhere; the scanner repairs it inside
///   strings to U+FFFD (one per maximal invalid subsequence, as `String(decoding:as:)` does). One garbled
///   status message must not cost a whole batch of 650 users. Judged by repairing the bytes and asking Foundation.
/// - `loneSurrogate`: Foundation refuses `\uD800` without its partner; the scanner reads a lone surrogate as
///   U+FFFD, for the same reason. Judged by spelling each lone one `\uFFFD` and asking Foundation.
/// - `numberOutOfRange`: Foundation refuses numbers beyond a Double's range (`1e400`), which RFC 8259 allows; the
///   scanner only validates the numbers it skips (no presence field is a number). Judged by zeroing them.
/// - `droppedFEFF`: Foundation drops a raw U+FEFF (bytes EF BB BF) that starts a string or follows an escape in
///   one, as if it were a byte order mark; it is a character (zero width no-break space) and the scanner keeps
///   it. Judged by spelling those `\uFEFF`, which Foundation keeps.
/// - `nestingLimit`: the scanner refuses nesting deeper than 64 levels, Foundation only beyond 512: Graph's answer
///   is 5 deep, and 64 bounds the scanner's stack.
/// - `trailingComma`: Foundation accepts `[1,]` and `{"a":1,}`; the scanner is strict RFC 8259 and refuses them.
/// - `byteOrderMark`: Foundation skips a byte order mark before the document (and would read UTF-16 or UTF-32);
///   the scanner reads UTF-8 without one, which is what Graph sends (RFC 8259 §8.1: no BOM).
/// - `repeatedKeyChecked`: with a key repeated, Foundation sees only the last value; the scanner reads every one,
///   so an earlier value of the wrong type (`"id":1,"id":"..."`) refuses the answer. Judged by dropping the
///   earlier members and scanning again.
enum AllowedDifference: String, CaseIterable {
    case invalidUTF8, loneSurrogate, numberOutOfRange, droppedFEFF, nestingLimit, trailingComma, byteOrderMark
    case repeatedKeyChecked
}

/// What the scanner said: refused (a `GraphError.malformedAnswer`), or these users.
enum ScannedAnswer: CustomStringConvertible {
    case refused(String)
    case users([ObservedPresence])

    var description: String {
        switch self {
        case .refused(let reason): "refused (\(reason))"
        case .users(let users): "\(users.count) users \(users)"
        }
    }
}

/// Feeds answers to Foundation and to the scanner and judges each: agreement, an allowed difference, or a finding.
struct AnswerFuzzJudge {
    enum Outcome: Hashable {
        case accepted, wrongShape, notJSON
        case allowed(Set<AllowedDifference>)
        case finding(FindingKind)
    }

    enum FindingKind: String {
        /// The scanner read users from bytes Foundation refuses or reads otherwise, or from the wrong shape.
        case scannerAccepts
        /// The scanner refused an answer Foundation reads.
        case scannerRefuses
        /// Both read users, but not the same ones.
        case differentUsers
        /// `scan`, `decode(object:)` and the whole-answer `decode` disagree with each other, or the error is wrong.
        case inconsistentScan
    }

    struct Judgement {
        var outcome: Outcome
        var detail: String
        /// How long the scanner took (both entry points), apart from Foundation and the judging.
        var scanning = Duration.zero
    }

    static let requestID = "fuzz-request"
    /// Reused for every answer, as the poller reuses its array.
    private var presences: [ScannedPresence] = []

    mutating func judge(_ bytes: [UInt8]) -> Judgement {
        let expected = FoundationOracle.expectation(bytes)
        let clock = ContinuousClock()
        let start = clock.now
        let (scanned, problems) = scan(bytes)
        let scanning = clock.now - start
        var judgement = verdict(bytes, expected, scanned, problems)
        judgement.scanning = scanning
        return judgement
    }

    private mutating func verdict(
        _ bytes: [UInt8], _ expected: ExpectedAnswer, _ scanned: ScannedAnswer, _ problems: [String]
    ) -> Judgement {
        if !problems.isEmpty {
            return Judgement(outcome: .finding(.inconsistentScan), detail: problems.joined(separator: "; "))
        }
        if let agreement = Self.agreement(scanned, expected) { return Judgement(outcome: agreement, detail: "") }
        if let outcome = explain(bytes, scanned, expected) {
            return Judgement(outcome: outcome, detail: "Foundation: \(expected)\nscanner: \(scanned)")
        }
        let kind: FindingKind =
            switch (scanned, expected) {
            case (.users, .users): .differentUsers
            case (.users, _): .scannerAccepts
            case (.refused, _): .scannerRefuses
            }
        return Judgement(outcome: .finding(kind), detail: "Foundation: \(expected)\nscanner: \(scanned)")
    }

    /// The shortest input found by cutting chunks out of `bytes` (halves down to single bytes, repeated until
    /// nothing more goes) while it stays the same kind of finding: a reproducer small enough to read.
    mutating func minimize(_ bytes: [UInt8], kind: FindingKind, attempts: Int = 20_000) -> [UInt8] {
        var current = bytes
        var left = attempts
        var shrank = true
        while shrank, left > 0 {
            shrank = false
            var chunk = max(1, current.count / 2)
            while chunk >= 1, left > 0 {
                var start = 0
                while start < current.count, left > 0 {
                    var candidate = current
                    candidate.removeSubrange(start..<min(start + chunk, current.count))
                    left -= 1
                    if judge(candidate).outcome == .finding(kind) {
                        current = candidate
                        shrank = true
                    } else {
                        start += chunk
                    }
                }
                chunk /= 2
            }
        }
        return current
    }

    /// Both entry points on `bytes`, checked against each other; the problems are findings whatever Foundation says.
    private mutating func scan(_ bytes: [UInt8]) -> (ScannedAnswer, problems: [String]) {
        var observations: [PresenceObservation] = []
        var decodeError: GraphError?
        do throws(GraphError) {
            observations = try PresenceAnswer.decode(bytes, requestID: Self.requestID)
        } catch {
            decodeError = error
        }
        var omissions = OmissionCounts()
        var presences = self.presences
        self.presences = []  // one owner, so the scan reuses the storage instead of copying it
        defer { self.presences = presences }
        let scanError: GraphError? = bytes.withUnsafeBufferPointer { buffer in
            do throws(GraphError) {
                try PresenceAnswer.scan(buffer, requestID: Self.requestID, into: &presences, omissions: &omissions)
                return nil
            } catch {
                return error
            }
        }
        var problems: [String] = []
        if let error = decodeError ?? scanError {
            if decodeError == nil || scanError == nil { problems.append("decode and scan disagree: \(error)") }
            guard error.code == .malformedAnswer else {
                return (.refused("\(error)"), problems + ["not a malformedAnswer: \(error)"])
            }
            let reason = error.reason ?? ""
            if error.requestID != Self.requestID || reason.isEmpty {
                problems.append("the error lost its context: \(error)")
            }
            return (.refused(reason), problems)
        }
        if presences.count != observations.count { problems.append("scan found \(presences.count) presences") }
        var expectedOmissions = OmissionCounts()
        bytes.withUnsafeBufferPointer { buffer in
            for (presence, observation) in zip(presences, observations) {
                expectedOmissions.add(observation.omitted)
                let again = PresenceAnswer.decode(object: presence, in: buffer, userID: observation.userID)
                if ObservedPresence(again) != ObservedPresence(observation)
                    || again.fingerprint != observation.fingerprint
                {
                    problems.append(
                        "decode(object:) read \(ObservedPresence(again)), decode \(ObservedPresence(observation))")
                }
                if presence.fingerprint != observation.fingerprint {
                    problems.append("scan and decode fingerprints differ")
                }
                let key = UserIDs.isObjectID(observation.userID) ? observation.userID : nil
                if presence.key?.description != key {
                    problems.append("key \(String(describing: presence.key)) for \(observation.userID)")
                }
            }
        }
        if omissions != expectedOmissions { problems.append("omissions \(omissions), expected \(expectedOmissions)") }
        return (.users(observations.map(ObservedPresence.init)), problems)
    }

    private static func agreement(_ scanned: ScannedAnswer, _ expected: ExpectedAnswer) -> Outcome? {
        switch (scanned, expected) {
        case (.refused, .notJSON): .notJSON
        case (.refused, .wrongShape): .wrongShape
        case (.users(let found), .users(let wanted)) where found == wanted: .accepted
        default: nil
        }
    }

    /// `bytes` spelled so that Foundation reads what the scanner does (invalid UTF-8 repaired, lone surrogates as
    /// `\uFFFD`, numbers out of range zeroed, U+FEFF escaped), and the allowed differences that took.
    private static func repair(_ bytes: [UInt8]) -> ([UInt8], Set<AllowedDifference>) {
        var repaired = bytes
        var reasons = Set<AllowedDifference>()
        if String(validating: repaired, as: UTF8.self) == nil {
            repaired = Array(String(decoding: repaired, as: UTF8.self).utf8)
            reasons.insert(.invalidUTF8)
        }
        let repairs: [(AllowedDifference, ([UInt8]) -> [UInt8]?)] = [
            (.loneSurrogate, JSONBytes.replacingLoneSurrogates),
            (.numberOutOfRange, JSONBytes.zeroingNumbersOutOfRange),
            (.droppedFEFF, JSONBytes.escapingFEFF),
        ]
        for (reason, repair) in repairs {
            guard let fixed = repair(repaired) else { continue }
            repaired = fixed
            reasons.insert(reason)
        }
        return (repaired, reasons)
    }

    /// The allowed differences that account for a disagreement, or nil when none does. (Scanner bugs this fuzzer
    /// found, all fixed, are kept as regression tests in `AnswerFuzzTests`: a control character in a key, an
    /// escape after a high surrogate swallowed, repeated presence members merged, a repeated `value` appended,
    /// leading zeros in numbers.)
    private mutating func explain(_ bytes: [UInt8], _ scanned: ScannedAnswer, _ expected: ExpectedAnswer) -> Outcome? {
        var reasons = Set<AllowedDifference>()
        switch (scanned, expected) {
        case (.refused, .users), (.refused, .wrongShape):
            if JSONBytes.maxDepth(bytes) > 64 { reasons.insert(.nestingLimit) }
            if JSONBytes.hasTrailingComma(bytes) { reasons.insert(.trailingComma) }
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { reasons.insert(.byteOrderMark) }
            if !reasons.isEmpty { return .allowed(reasons) }
            // Respelled so that Foundation reads what the scanner does (a U+FEFF in a key kept; only the last copy
            // of a repeated key), the scanner must agree, up to the other allowed differences.
            let respellings: [(AllowedDifference, ([UInt8]) -> [UInt8]?)] = [
                (.droppedFEFF, JSONBytes.escapingFEFF),
                (.repeatedKeyChecked, { OrderedJSONReader.keepingLastOfRepeatedKeys($0) }),
            ]
            for (reason, respell) in respellings {
                guard let respelled = respell(bytes) else { continue }
                switch judge(respelled).outcome {
                case .accepted, .wrongShape: return .allowed([reason])
                case .allowed(let others): return .allowed(others.union([reason]))
                default: continue
                }
            }
            return nil
        case (.users, _):
            let (repaired, reasons) = Self.repair(bytes)
            let foundation = reasons.isEmpty ? expected : FoundationOracle.expectation(repaired)
            if !reasons.isEmpty, Self.agreement(scanned, foundation) == .accepted { return .allowed(reasons) }
            return nil
        default: return nil
        }
    }
}

// MARK: - Byte-level facts for the allowed differences

/// Facts about a document's bytes that decide whether a difference is an allowed one. Strings are stepped over with
/// their escapes, so brackets and commas inside them do not count.
enum JSONBytes {
    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")

    /// Calls `body` with the index of every byte outside strings, and of each string's opening quote.
    static func forEachToken(_ bytes: [UInt8], _ body: (Int) -> Void) {
        var index = 0
        while index < bytes.count {
            body(index)
            if bytes[index] == quote {
                index += 1
                while index < bytes.count, bytes[index] != quote { index += bytes[index] == backslash ? 2 : 1 }
            }
            index += 1
        }
    }

    static func maxDepth(_ bytes: [UInt8]) -> Int {
        var depth = 0
        var deepest = 0
        forEachToken(bytes) { index in
            switch bytes[index] {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    static func hasTrailingComma(_ bytes: [UInt8]) -> Bool {
        var afterComma = false
        var found = false
        forEachToken(bytes) { index in
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: break
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                found = found || afterComma
                afterComma = false
            case UInt8(ascii: ","): afterComma = true
            default: afterComma = false
            }
        }
        return found
    }

    /// `bytes` with each lone surrogate escape spelled `\uFFFD` (what the scanner reads it as), or nil if none.
    static func replacingLoneSurrogates(_ bytes: [UInt8]) -> [UInt8]? {
        func escapedUnit(at index: Int) -> UInt16? {
            guard index + 6 <= bytes.count, bytes[index] == backslash, bytes[index + 1] == UInt8(ascii: "u") else {
                return nil
            }
            return UInt16(String(decoding: bytes[(index + 2)..<(index + 6)], as: UTF8.self), radix: 16)
        }
        var result: [UInt8] = []
        var changed = false
        var index = 0
        var inString = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == quote { inString.toggle() }
            guard inString, byte == backslash else {
                result.append(byte)
                index += 1
                continue
            }
            guard let unit = escapedUnit(at: index), (0xD800..<0xE000).contains(unit) else {
                result += bytes[index..<min(index + 2, bytes.count)]
                index += 2
                continue
            }
            if unit < 0xDC00, let low = escapedUnit(at: index + 6), (0xDC00..<0xE000).contains(low) {
                result += bytes[index..<(index + 12)]
                index += 12
            } else {
                result += Array("\\uFFFD".utf8)
                changed = true
                index += 6
            }
        }
        return changed ? result : nil
    }

    /// `bytes` with each raw U+FEFF inside a string spelled `\uFEFF`, or nil if there is none.
    static func escapingFEFF(_ bytes: [UInt8]) -> [UInt8]? {
        var result: [UInt8] = []
        var changed = false
        var index = 0
        var inString = false
        while index < bytes.count {
            if inString, bytes[index...].starts(with: [0xEF, 0xBB, 0xBF]) {
                result += Array("\\uFEFF".utf8)
                changed = true
                index += 3
                continue
            }
            if bytes[index] == quote { inString.toggle() }
            let step = inString && bytes[index] == backslash ? 2 : 1
            result += bytes[index..<min(index + step, bytes.count)]
            index += step
        }
        return changed ? result : nil
    }

    /// `bytes` with each RFC 8259 number outside strings that overflows a Double spelled `0`, or nil if none.
    static func zeroingNumbersOutOfRange(_ bytes: [UInt8]) -> [UInt8]? {
        zeroingNumbers(bytes) { $0.wholeMatch(of: rfcNumber) != nil && Double($0)?.isFinite != true }
    }

    /// `bytes` with each number outside strings that has a leading zero (`01`, `-00.5e1`) spelled `0`, or nil if none.
    static func zeroingLeadingZeroNumbers(_ bytes: [UInt8]) -> [UInt8]? {
        zeroingNumbers(bytes) { $0.wholeMatch(of: /-?0[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/) != nil }
    }

    nonisolated(unsafe) private static let rfcNumber = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/

    /// `bytes` with each number-like token outside strings that `matches` spelled `0`, or nil if none matches.
    private static func zeroingNumbers(_ bytes: [UInt8], where matches: (String) -> Bool) -> [UInt8]? {
        let numberBytes = Set("0123456789+-.eE".utf8)
        var result: [UInt8] = []
        var changed = false
        var index = 0
        while index < bytes.count {
            let start = index
            if bytes[index] == quote {
                index += 1
                while index < bytes.count, bytes[index] != quote { index += bytes[index] == backslash ? 2 : 1 }
                index = min(index + 1, bytes.count)
            } else if bytes[index] == UInt8(ascii: "-") || (0x30...0x39).contains(bytes[index]) {
                while index < bytes.count, numberBytes.contains(bytes[index]) { index += 1 }
                if matches(String(decoding: bytes[start..<index], as: UTF8.self)) {
                    result.append(UInt8(ascii: "0"))
                    changed = true
                    continue
                }
            } else {
                index += 1
            }
            result += bytes[start..<index]
        }
        return changed ? result : nil
    }
}

/// Reads JSON that Foundation accepted, keeping members in order and repeated keys, with the other values as their
/// bytes: Foundation's dictionaries cannot say whether a document repeated a key.
struct OrderedJSONReader {
    private let bytes: [UInt8]
    private var offset = 0

    /// `bytes` with every object (or only the outermost) keeping just the last member of each key (what Foundation
    /// reads), or nil when no key repeats or the bytes are not plain JSON.
    static func keepingLastOfRepeatedKeys(_ bytes: [UInt8], onlyAtTop: Bool = false) -> [UInt8]? {
        var reader = OrderedJSONReader(bytes: bytes)
        guard let value = reader.value() else { return nil }
        reader.skipSpace()
        guard reader.offset == bytes.count else { return nil }
        var changed = false
        let unique = keepingLast(value, &changed, deeper: !onlyAtTop)
        return changed ? JSONSpeller.compact(unique) : nil
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private static func keepingLast(_ value: FuzzValue, _ changed: inout Bool, deeper: Bool = true) -> FuzzValue {
        switch value {
        case .object(let members):
            var kept: [FuzzMember] = []
            for (index, member) in members.enumerated() {
                if members[(index + 1)...].contains(where: { $0.key.plainText == member.key.plainText }) {
                    changed = true
                } else {
                    let value = deeper ? keepingLast(member.value, &changed) : member.value
                    kept.append(FuzzMember(key: member.key, value: value))
                }
            }
            return .object(kept)
        case .array(let elements):
            guard deeper else { return value }
            var kept: [FuzzValue] = []
            for element in elements { kept.append(keepingLast(element, &changed)) }
            return .array(kept)
        default: return value
        }
    }

    private mutating func value() -> FuzzValue? {
        skipSpace()
        guard offset < bytes.count else { return nil }
        let start = offset
        switch bytes[offset] {
        case UInt8(ascii: "{"):
            offset += 1
            var members: [FuzzMember] = []
            while true {
                skipSpace()
                if take("}") { return .object(members) }
                if !members.isEmpty { guard take(",") else { return nil } }
                skipSpace()
                guard let key = string() else { return nil }
                skipSpace()
                guard take(":"), let value = value() else { return nil }
                members.append(FuzzMember(key: FuzzString(key), value: value))
            }
        case UInt8(ascii: "["):
            offset += 1
            var elements: [FuzzValue] = []
            while true {
                skipSpace()
                if take("]") { return .array(elements) }
                if !elements.isEmpty { guard take(",") else { return nil } }
                guard let element = value() else { return nil }
                elements.append(element)
            }
        case UInt8(ascii: "\""):
            guard string() != nil else { return nil }
        default:
            while offset < bytes.count, !Set(",]} \t\r\n".utf8).contains(bytes[offset]) { offset += 1 }
        }
        return offset > start ? .raw(Array(bytes[start..<offset])) : nil
    }

    /// A string's decoded text (escapes and surrogate pairs joined), or nil when it is not one.
    private mutating func string() -> String? {
        guard take("\"") else { return nil }
        var units: [UInt16] = []
        var raw: [UInt8] = []
        var text = ""
        func flushRaw() {
            text += String(decoding: raw, as: UTF8.self)
            raw.removeAll()
        }
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            if byte == UInt8(ascii: "\"") {
                flushRaw()
                return text + String(decoding: units, as: UTF16.self)
            }
            guard byte == UInt8(ascii: "\\") else {
                text += String(decoding: units, as: UTF16.self)
                units.removeAll()
                raw.append(byte)
                continue
            }
            guard offset < bytes.count else { return nil }
            let escape = bytes[offset]
            offset += 1
            flushRaw()
            if escape == UInt8(ascii: "u") {
                guard offset + 4 <= bytes.count,
                    let unit = UInt16(String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self), radix: 16)
                else { return nil }
                offset += 4
                units.append(unit)
                continue
            }
            text += String(decoding: units, as: UTF16.self)
            units.removeAll()
            let decoded: [UInt8: String] = [
                0x22: "\"", 0x5C: "\\", 0x2F: "/", 0x62: "\u{8}", 0x66: "\u{C}", 0x6E: "\n", 0x72: "\r", 0x74: "\t",
            ]
            guard let character = decoded[escape] else { return nil }
            text += character
        }
        return nil
    }

    private mutating func take(_ character: Unicode.Scalar) -> Bool {
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: character) else { return false }
        offset += 1
        return true
    }

    fileprivate mutating func skipSpace() {
        while offset < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { offset += 1 }
    }
}

// MARK: - Fingerprints

/// The fingerprint's promise: equal answers as sent give equal fingerprints, whatever the spelling.
enum FingerprintProperty {
    /// Spells one generated presence twice (member order, sequence number, unknown members, the level an omission
    /// or null sits at, whitespace, escapes all drawn anew) and a second presence once; returns what broke: the
    /// two spellings must read the same and fingerprint the same, and a presence that reads differently (other
    /// than in id and sequence number) must fingerprint differently.
    static func problems(seed: UInt64) -> [String] {
        var random = FuzzRandom(seed: seed)
        var generator = AnswerGenerator(seed: random.next(), longestString: 200)
        let model = generator.presence()
        let other = random.chance(0.3) ? model : generator.presence()
        var readings: [(ObservedPresence, UInt64)] = []
        for current in [model, model, other] {
            let answer = generator.answer([generator.object(current)])
            var speller = JSONSpeller(
                seed: random.next(), whitespaceRate: random.pick([0, 0.3]), escapeRate: random.pick([0, 0.3, 1]))
            speller.spell(answer)
            do throws(GraphError) {
                guard let observation = try PresenceAnswer.decode(speller.bytes, requestID: nil).first else {
                    return ["no presence in \(String(decoding: speller.bytes, as: UTF8.self))"]
                }
                var observed = ObservedPresence(observation)
                observed.sequenceNumber = nil
                readings.append((observed, observation.fingerprint))
            } catch {
                return ["\(error) for \(String(decoding: speller.bytes, as: UTF8.self))"]
            }
        }
        var problems: [String] = []
        if readings[0].0 != readings[1].0 || readings[0].1 != readings[1].1 {
            problems.append("one presence, two readings: \(readings[0]) and \(readings[1])")
        }
        var differentReading = readings[2].0
        differentReading.userID = readings[0].0.userID
        if differentReading != readings[0].0, readings[2].1 == readings[0].1 {
            problems.append("different presences, one fingerprint: \(readings[0]) and \(readings[2])")
        }
        return problems
    }
}
