import Foundation

@testable import PresenceSync

// A differential fuzzer for `PresenceAnswer`: generated and damaged getPresencesByUserId answers go to the scanner
// and to Foundation's `JSONSerialization`, and an oracle built on Foundation's tree says what the scanner must
// answer. `AnswerFuzzTests` runs it. One file because the pieces only make sense together: randomness, documents
// and their spellings, the generator and its mutations, the oracle, and the judge with its allowed differences.

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
    private static let hexDigits = (lower: Array("0123456789abcdef".utf8), upper: Array("0123456789ABCDEF".utf8))

    private mutating func spell(_ string: FuzzString) {
        put("\"")
        for piece in string.pieces {
            switch piece {
            case .text(let text): for scalar in text.unicodeScalars { spell(scalar) }
            case .invalidUTF8(let raw): bytes += raw
            case .escapedUnit(let unit): escape(unit)
            }
        }
        put("\"")
    }

    private mutating func spell(_ scalar: Unicode.Scalar) {
        let mustEscape = scalar == "\"" || scalar == "\\" || scalar.value < 0x20
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
        case omitted, null, value(Value)
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
        var text = ""
        for index in 0..<36 {
            if [8, 13, 18, 23].contains(index) {
                text += "-"
                continue
            }
            let digit = random.pick(Array("0123456789abcdef"))
            let upper = style == 1 || (style == 2 && random.chance(0.5))
            text.append(upper ? Character(digit.uppercased()) : digit)
        }
        return FuzzString(text)
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
            let length = 1 + random.below(max(1, longestString))
            return FuzzString(String(String(repeating: chunk, count: length / chunk.count + 1).prefix(length)))
        }
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
            let length = random.pick([longestString, longestString * 4, 70_000])
            let huge = FuzzString(String(repeating: random.pick(["x", "\\", "é", "🎉"]), count: length))
            Self.update(&document, at: random.pick(strings).path[...]) { $0 = .string(huge) }
        default:
            let place = random.pick(places)
            guard !place.path.isEmpty else { return document = .array([]) }
            let replacement = random.pick([
                .number(random.pick(Self.numbers)), .bool(random.chance(0.5)), .null, .array([]),
                .array([.string(text())]), .object([]), .string(text()),
            ] as [FuzzValue])
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
        switch random.below(7) {
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
    static func bytes(seed: UInt64, longestString: Int) -> [UInt8] {
        var random = FuzzRandom(seed: seed)
        var generator = AnswerGenerator(seed: random.next(), longestString: longestString)
        let users = (0..<random.pick([0, 1, 1, 2, 3, 5, 12])).map { _ in generator.presence() }
        var document = generator.answer(users.map { generator.object($0) })
        if random.chance(0.4) {
            for _ in 0...random.below(2) { generator.reshape(&document) }
        }
        var speller = JSONSpeller(
            seed: random.next(), whitespaceRate: random.pick([0, 0, 0.1, 0.5]), escapeRate: random.pick([0, 0, 0.05, 0.5]))
        speller.spell(document)
        var bytes = speller.bytes
        if random.chance(0.35) {
            for _ in 0...random.below(3) { ByteMutator.mutate(&bytes, &random) }
        }
        return bytes
    }
}
