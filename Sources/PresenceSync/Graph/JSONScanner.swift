#if canImport(Glibc)
    import Glibc
#endif

/// A small, strict, allocation-light JSON reader for the one document shape on the hot path.
///
/// getPresencesByUserId answers are read 100,000 times a cycle at scale; Foundation's JSONDecoder spent most of the
/// daemon's CPU building a generic tree first. This scanner walks the bytes once, hands object keys to the caller
/// as raw bytes (no String for keys it does not want), skips unknown values while still validating them, and
/// reports where a document stops being JSON. It accepts exactly RFC 8259 JSON (no comments, no trailing commas).
struct JSONScanner {
    /// Why a document was refused, and the byte offset where it happened.
    struct Failure: Error {
        var reason: String
        var offset: Int
        /// True when the bytes are not JSON at all; false when they are JSON of an unexpected shape.
        var isSyntax: Bool
        /// Where in the document the reader was (`value[3].availability`), filled in by the caller.
        var path: String?
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private(set) var offset = 0
    private var depth = 0
    /// Nesting deeper than this is refused rather than risking the stack on a hostile document.
    private static let maxDepth = 64

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    // MARK: Structure

    /// Reads an object, calling `member` with each key's bytes; `member` must consume the value.
    ///
    /// The key is a view into the document (or, for a key with escapes, into its decoded bytes), valid only during
    /// the call: no array is made per key, and a presence answer has ten keys per user.
    mutating func readObject(
        _ member: (inout JSONScanner, UnsafeBufferPointer<UInt8>) throws(Failure) -> Void
    ) throws(Failure) {
        try enter(UInt8(ascii: "{"), "an object")
        defer { depth -= 1 }
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            offset += 1
            return
        }
        while true {
            skipWhitespace()
            switch try readKey() {
            case .inDocument(let key):
                try readMember(key, member)
            case .decoded(let key):
                let result = key.withUnsafeBufferPointer { key in
                    Result { () throws(Failure) in try readMember(key, member) }
                }
                try result.get()
            }
            skipWhitespace()
            guard let next = peek() else { throw fail("the document ends inside an object") }
            offset += 1
            if next == UInt8(ascii: "}") { return }
            guard next == UInt8(ascii: ",") else { throw fail("expected ',' or '}' in an object", at: offset - 1) }
        }
    }

    /// Reads an array, calling `element` with the index of each element; `element` must consume it.
    mutating func readArray(_ element: (inout JSONScanner, Int) throws(Failure) -> Void) throws(Failure) {
        try enter(UInt8(ascii: "["), "an array")
        defer { depth -= 1 }
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            offset += 1
            return
        }
        var index = 0
        while true {
            skipWhitespace()
            try element(&self, index)
            index += 1
            skipWhitespace()
            guard let next = peek() else { throw fail("the document ends inside an array") }
            offset += 1
            if next == UInt8(ascii: "]") { return }
            guard next == UInt8(ascii: ",") else { throw fail("expected ',' or ']' in an array", at: offset - 1) }
        }
    }

    /// Checks that nothing but whitespace follows the document.
    mutating func finish() throws(Failure) {
        skipWhitespace()
        guard offset == bytes.count else { throw fail("unexpected data after the document") }
    }

    // MARK: Values

    /// True (and consumes it) when the next value is `null`.
    mutating func readNullIfPresent() throws(Failure) -> Bool {
        skipWhitespace()
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    /// The next value as a string, or nil for `null`; any other type is refused.
    mutating func readOptionalString() throws(Failure) -> String? {
        if try readNullIfPresent() { return nil }
        return try readString()
    }

    /// The next value as a boolean, or nil for `null`; any other type is refused.
    mutating func readOptionalBool() throws(Failure) -> Bool? {
        skipWhitespace()
        switch peek() {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        default:
            throw mismatch("expected true, false or null")
        }
    }

    /// True when the next value is an object (without consuming anything).
    mutating func nextIsObject() -> Bool {
        skipWhitespace()
        return peek() == UInt8(ascii: "{")
    }

    /// Reads a string value, decoding escapes; invalid UTF-8 is repaired with U+FFFD.
    /// Reads a string with ASCII letters lower-cased, in one allocation when it is plain ASCII (object ids).
    mutating func readLowercasedString() throws(Failure) -> String {
        if let raw = try readPlainString(where: { $0.allSatisfy { $0 < 0x80 } }) { return UserIDs.lowercased(raw) }
        return try readString().lowercased()
    }

    /// Reads a string; when it has no escapes and `known` recognises its bytes, returns `known`'s string instead of
    /// making one (no allocation for words every answer repeats).
    mutating func readString(known: (UnsafeBufferPointer<UInt8>) -> String?) throws(Failure) -> String {
        var word: String?
        if try readPlainString(where: {
            word = known($0)
            return word != nil
        }) != nil, let word {
            return word
        }
        return try readString()
    }

    /// The bytes of the next string, read in place, when it has no escapes or control characters and `accept`
    /// takes them; otherwise nil, with nothing consumed (the caller reads it the general way).
    private mutating func readPlainString(
        where accept: (UnsafeBufferPointer<UInt8>) -> Bool
    ) throws(Failure) -> UnsafeBufferPointer<UInt8>? {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw mismatch("expected a string") }
        var cursor = offset + 1
        while cursor < bytes.count, bytes[cursor] != UInt8(ascii: "\""), bytes[cursor] != UInt8(ascii: "\\"),
            bytes[cursor] >= 0x20
        {
            cursor += 1
        }
        guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "\"") else { return nil }
        let raw = UnsafeBufferPointer(rebasing: bytes[(offset + 1)..<cursor])
        guard accept(raw) else { return nil }
        offset = cursor + 1
        return raw
    }

    /// Reads a string and hands its decoded UTF-8 bytes to `body`: in place when it has no escapes (no allocation,
    /// bytes passed as they are, invalid UTF-8 included), else decoded into a temporary string first (invalid
    /// UTF-8 repaired with U+FFFD, as `readString` does).
    mutating func withStringBytes<T>(_ body: (UnsafeBufferPointer<UInt8>) -> T) throws(Failure) -> T {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw mismatch("expected a string") }
        var cursor = offset + 1
        while cursor < bytes.count {
            let byte = bytes[cursor]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: bytes[(offset + 1)..<cursor])
                offset = cursor + 1
                return body(raw)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            cursor += 1
        }
        var decoded = try readString()
        return decoded.withUTF8 { body($0) }
    }

    mutating func readString() throws(Failure) -> String {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw mismatch("expected a string") }
        offset += 1
        let start = offset
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                defer { offset += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { return try readEscapedString(from: start) }
            if byte < 0x20 { throw fail("a control character inside a string") }
            offset += 1
        }
        throw fail("the document ends inside a string", at: start - 1)
    }

    /// Consumes any value, checking that it is well-formed.
    mutating func skipValue() throws(Failure) {
        skipWhitespace()
        guard let byte = peek() else { throw fail("expected a value, found the end of the document") }
        switch byte {
        case UInt8(ascii: "{"): try readObject { scanner, _ throws(Failure) in try scanner.skipValue() }
        case UInt8(ascii: "["): try readArray { scanner, _ throws(Failure) in try scanner.skipValue() }
        case UInt8(ascii: "\""): try withStringBytes { _ in }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
        default: throw fail("expected a value")
        }
    }

    // MARK: Pieces

    private enum Key {
        case inDocument(UnsafeBufferPointer<UInt8>)
        case decoded([UInt8])
    }

    private mutating func readKey() throws(Failure) -> Key {
        guard peek() == UInt8(ascii: "\"") else { throw fail("expected an object key") }
        let start = offset + 1
        var cursor = start
        // Stops at a control character too, so that `readString` refuses it (found by the differential fuzzer).
        while cursor < bytes.count, bytes[cursor] != UInt8(ascii: "\""), bytes[cursor] != UInt8(ascii: "\\"),
            bytes[cursor] >= 0x20
        {
            cursor += 1
        }
        if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "\"") {
            offset = cursor + 1
            return .inDocument(UnsafeBufferPointer(rebasing: bytes[start..<cursor]))
        }
        return .decoded(Array(try readString().utf8))
    }

    /// The rest of one member after its key: the colon and the value (read by `member`).
    private mutating func readMember(
        _ key: UnsafeBufferPointer<UInt8>,
        _ member: (inout JSONScanner, UnsafeBufferPointer<UInt8>) throws(Failure) -> Void
    ) throws(Failure) {
        skipWhitespace()
        try expect(UInt8(ascii: ":"), "':' after an object key")
        skipWhitespace()
        try member(&self, key)
    }

    private mutating func readEscapedString(from start: Int) throws(Failure) -> String {
        var decoded = Array(UnsafeBufferPointer(rebasing: bytes[start..<offset]))
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: decoded, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard offset < bytes.count else { break }
                let escape = bytes[offset]
                offset += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escape)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"): decoded.append(contentsOf: try readUnicodeEscape())
                default: throw fail("an invalid escape sequence in a string", at: offset - 2)
                }
            case 0..<0x20:
                throw fail("a control character inside a string", at: offset - 1)
            default:
                decoded.append(byte)
            }
        }
        throw fail("the document ends inside a string", at: start - 1)
    }

    /// Decodes `XXXX` after `\u`, joining surrogate pairs; a lone surrogate becomes U+FFFD. An escape after a high
    /// surrogate that is not its low half is left for the next call (it was swallowed before the fuzzer found it).
    private mutating func readUnicodeEscape() throws(Failure) -> [UInt8] {
        let high = try readHex4()
        var scalar = Unicode.Scalar(high)
        if (0xD800..<0xDC00).contains(high), offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"),
            bytes[offset + 1] == UInt8(ascii: "u")
        {
            let escape = offset
            offset += 2
            let low = try readHex4()
            if (0xDC00..<0xE000).contains(low) {
                scalar = Unicode.Scalar(0x10000 + ((UInt32(high) - 0xD800) << 10) + (UInt32(low) - 0xDC00))
            } else {
                offset = escape
            }
        }
        return Array(String(Character(scalar ?? "\u{FFFD}")).utf8)
    }

    private mutating func readHex4() throws(Failure) -> UInt16 {
        guard offset + 4 <= bytes.count else { throw fail("the document ends inside a \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("an invalid \\u escape")
            }
            value = value << 4 | UInt16(digit)
            offset += 1
        }
        return value
    }

    private mutating func skipNumber() throws(Failure) {
        let start = offset
        if peek() == UInt8(ascii: "-") { offset += 1 }
        let digitsStart = offset
        while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { offset += 1 }
        guard offset > digitsStart else { throw fail("an invalid number", at: start) }
        // RFC 8259: no leading zeros (`01`, `-00.5`); found by the differential fuzzer.
        guard offset - digitsStart == 1 || bytes[digitsStart] != UInt8(ascii: "0") else {
            throw fail("a number with a leading zero", at: start)
        }
        if peek() == UInt8(ascii: ".") {
            offset += 1
            let fraction = offset
            while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { offset += 1 }
            guard offset > fraction else { throw fail("an invalid number", at: start) }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            offset += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { offset += 1 }
            let exponent = offset
            while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { offset += 1 }
            guard offset > exponent else { throw fail("an invalid number", at: start) }
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard offset + count <= bytes.count else { throw fail("the document ends inside a literal") }
        for index in 0..<count where bytes[offset + index] != word.utf8Start[index] {
            throw fail("expected \(word)")
        }
        offset += count
    }

    private mutating func enter(_ opening: UInt8, _ what: String) throws(Failure) {
        skipWhitespace()
        guard peek() == opening else {
            if peek() == nil { throw fail("expected \(what), found the end of the document") }
            throw mismatch("expected \(what)")
        }
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth) levels") }
        offset += 1
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
        guard peek() == byte else { throw fail("expected \(what)") }
        offset += 1
    }

    private func peek() -> UInt8? { offset < bytes.count ? bytes[offset] : nil }

    private mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    private func fail(_ reason: String, at position: Int? = nil) -> Failure {
        Failure(reason: reason, offset: position ?? offset, isSyntax: true)
    }

    /// A type mismatch when a valid value of another type starts here, else a syntax error.
    private func mismatch(_ reason: String) -> Failure {
        guard let byte = peek() else { return fail("the document ends where a value was expected") }
        let startsValue = "{[\"tfn-0123456789".utf8.contains(byte)
        return Failure(reason: reason, offset: offset, isSyntax: !startsValue)
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// True when these bytes are exactly `literal`'s UTF-8: a plain loop over two buffers, because the generic
    /// `elementsEqual` against a `String.UTF8View` cost several percent of a 100,000-user cycle on its own.
    @inline(__always)
    func spells(_ literal: StaticString) -> Bool {
        sameBytes(as: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// True when both buffers hold the same bytes.
    @inline(__always)
    func sameBytes(as other: UnsafeBufferPointer<UInt8>) -> Bool {
        guard count == other.count else { return false }
        guard let base = baseAddress, let otherBase = other.baseAddress else { return true }
        return memcmp(base, otherBase, count) == 0
    }
}
