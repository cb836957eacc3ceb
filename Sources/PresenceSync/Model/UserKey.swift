/// A user's object id as the 128-bit number it spells: the hot path's key for a user.
///
/// Graph names users by GUID text (`fa8bf3dc-eca7-46b7-bad1-db199b62afc3`). Comparing and hashing 36-byte strings
/// for every observation was a fifth of a steady cycle; two machine words compare in one instruction each and need
/// no allocation. Upper- and lower-case hex digits spell the same key (Graph's ids are case-insensitive). Braces,
/// URNs and any other spelling are refused: the daemon only ever asks for ids in the canonical form.
public struct UserKey: Hashable, Sendable, CustomStringConvertible {
    /// The first 16 hex digits.
    public var high: UInt64
    /// The last 16 hex digits.
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The key spelled by `id`, nil unless it is a canonical GUID (8-4-4-4-12 hex digits, either case).
    public init?(_ id: String) {
        var id = id
        guard let key = id.withUTF8({ UserKey(guid: $0) }) else { return nil }
        self = key
    }

    /// The key spelled by `bytes`, nil unless they are exactly a canonical GUID (8-4-4-4-12 hex digits).
    public init?(guid bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count == 36, bytes[8] == 0x2D, bytes[13] == 0x2D, bytes[18] == 0x2D, bytes[23] == 0x2D
        else { return nil }
        var invalid: UInt8 = 0
        /// The value of the hex digits in `range` (at most 16), flagging any byte that is not one.
        func digits(_ range: Range<Int>, into value: inout UInt64) {
            for index in range {
                let nibble = Self.hexValue(bytes[index])
                invalid |= nibble
                value = value << 4 | UInt64(nibble & 0x0F)
            }
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        digits(0..<8, into: &high)
        digits(9..<13, into: &high)
        digits(14..<18, into: &high)
        digits(19..<23, into: &low)
        digits(24..<36, into: &low)
        guard invalid & 0x80 == 0 else { return nil }
        self.high = high
        self.low = low
    }

    /// The canonical lower-case spelling.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8](repeating: UInt8(ascii: "-"), count: 36)
        var position = 35
        for (word, count) in [(low, 16), (high, 16)] {
            var word = word
            for _ in 0..<count {
                if position == 8 || position == 13 || position == 18 || position == 23 { position -= 1 }
                text[position] = digits[Int(word & 0xF)]
                word >>= 4
                position -= 1
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// A byte's hex value, or 0x80 for a byte that is not a hex digit (arithmetic, not a table: a global table is
    /// reached through a lazy-initialisation check on every call, which cost more than the parse itself).
    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> UInt8 {
        let digit = byte &- 0x30
        if digit < 10 { return digit }
        let letter = (byte | 0x20) &- 0x61
        if letter < 6 { return letter &+ 10 }
        return 0x80
    }
}
