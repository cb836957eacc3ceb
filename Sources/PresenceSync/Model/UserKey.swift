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
    ///
    /// Straight-line code over a raw pointer: this runs for every presence object of every answer, and a table
    /// lookup or a loop over ranges cost several times the few instructions a digit needs.
    public init?(guid bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count == 36, let text = bytes.baseAddress, text[8] == 0x2D, text[13] == 0x2D, text[18] == 0x2D,
            text[23] == 0x2D
        else { return nil }
        var invalid: UInt8 = 0
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<8 { high = high << 4 | Self.nibble(text[index], &invalid) }
        for index in 9..<13 { high = high << 4 | Self.nibble(text[index], &invalid) }
        for index in 14..<18 { high = high << 4 | Self.nibble(text[index], &invalid) }
        for index in 19..<23 { low = low << 4 | Self.nibble(text[index], &invalid) }
        for index in 24..<36 { low = low << 4 | Self.nibble(text[index], &invalid) }
        guard invalid == 0 else { return nil }
        self.high = high
        self.low = low
    }

    /// A hex digit's value; sets bits of `invalid` for any other byte. Without branches: digits and letters come
    /// in random order, and a mispredicted branch per digit was most of the parse's time.
    @inline(__always)
    private static func nibble(_ byte: UInt8, _ invalid: inout UInt8) -> UInt64 {
        let digit = byte &- 0x30
        let letter = (byte | 0x20) &- 0x61
        let isDigit: UInt8 = digit < 10 ? 0xFF : 0
        let isLetter: UInt8 = letter < 6 ? 0xFF : 0
        invalid |= ~(isDigit | isLetter)
        return UInt64((digit & isDigit) | ((letter &+ 10) & isLetter))
    }

    /// A well-mixed hash for the open-addressing tables keyed by user (`FingerprintTable`, the poller's table of
    /// requested positions): object ids are random, but sequential ids (tests, other directories) must not cluster.
    @inline(__always)
    func slot(mask: Int) -> Int {
        var mixed = (high ^ low) &* 0x9E37_79B9_7F4A_7C15
        mixed ^= mixed >> 29
        return Int(truncatingIfNeeded: mixed) & mask
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
}
