import Synchronization

/// The tenant's users: object ids derived from (seed, index), and the way back from an id to its index.
///
/// An id is an invertible function of its index, so the directory stores nothing per user: building a tenant of
/// any size is instant (also in unoptimised debug builds) and a lookup is a parse, two inverse hashes and a
/// comparison. Only ``ids`` (the text of every id) is built, on first use, and cached.
final class UserDirectory: Sendable {
    /// A GUID's 128 bits.
    struct GUIDKey: Equatable, Sendable {
        let high: UInt64
        let low: UInt64
    }

    /// Number of users.
    let count: Int
    let seed: UInt64
    private let cachedIDs = Mutex<[String]?>(nil)

    /// Length of a GUID in its textual form.
    static let guidLength = 36

    init(count: Int, seed: UInt64) {
        self.count = count
        self.seed = seed
    }

    /// User object ids, lower-case GUID text, in index order (built on first use).
    var ids: [String] {
        cachedIDs.withLock { cached in
            if let cached { return cached }
            let ids = (0..<count).map { String(decoding: Self.idBytes(index: $0, seed: seed), as: UTF8.self) }
            cached = ids
            return ids
        }
    }

    /// The index of the user with this object id (either case, as GUIDs compare in Entra), nil if none.
    func index(of id: String) -> Int? {
        guard let key = Self.parse(id) else { return nil }
        // Undo `key(index:seed:)`: gather the 64 bits of `a`, then invert both SplitMix64 finalisers.
        let a60 = (key.high >> 16) << 12 | (key.high & 0xFFF)
        let a = a60 << 4 | (key.low >> 58) & 0xF
        let candidate = SplitMix64.unmix(SplitMix64.unmix(a) ^ seed)
        guard candidate < UInt64(count), Self.key(index: Int(candidate), seed: seed) == key else { return nil }
        return Int(candidate)
    }

    /// Writes user `index`'s id (36 bytes) at `target`.
    func writeID(index: Int, into target: UnsafeMutableRawPointer) {
        Self.write(Self.key(index: index, seed: seed), into: target)
    }

    /// The id of user `index` for `seed` as a version-4-shaped GUID in lower-case text.
    static func idBytes(index: Int, seed: UInt64) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: guidLength) { buffer, initialized in
            write(key(index: index, seed: seed), into: UnsafeMutableRawPointer(buffer.baseAddress!))
            initialized = guidLength
        }
    }

    /// True when `text` has the 8-4-4-4-12 hex shape of a GUID (either case), the only ids Graph accepts.
    static func isGUID(_ text: String) -> Bool {
        parse(text) != nil
    }

    /// The 128 bits of user `index`'s id. `a`, a bijective hash of the index, fills the 60 free bits of the high
    /// half (around the version nibble 4) and 4 bits of the low half; the rest of the low half (after the RFC 4122
    /// variant bits) comes from a second hash. So the ids look like Entra's and `index(of:)` can invert them.
    private static func key(index: Int, seed: UInt64) -> GUIDKey {
        let a = SplitMix64.mix(SplitMix64.mix(UInt64(truncatingIfNeeded: index)) ^ seed)
        let b = SplitMix64.mix(a ^ 0xA5A5_5A5A_C3C3_3C3C ^ seed)
        let a60 = a >> 4
        return GUIDKey(
            high: (a60 >> 12) << 16 | 0x4000 | (a60 & 0xFFF),
            low: 0x8000_0000_0000_0000 | (a & 0xF) << 58 | (b & 0x03FF_FFFF_FFFF_FFFF))
    }

    /// Writes the 36 lower-case bytes of `key` at `target`: 8-4-4 digits from `high`, 4-12 from `low`.
    private static func write(_ key: GUIDKey, into target: UnsafeMutableRawPointer) {
        let dash = UInt8(ascii: "-")
        HexText.write(key.high >> 32, byteCount: 4, uppercase: false, into: target)
        target.storeBytes(of: dash, toByteOffset: 8, as: UInt8.self)
        HexText.write(key.high >> 16, byteCount: 2, uppercase: false, into: target + 9)
        target.storeBytes(of: dash, toByteOffset: 13, as: UInt8.self)
        HexText.write(key.high, byteCount: 2, uppercase: false, into: target + 14)
        target.storeBytes(of: dash, toByteOffset: 18, as: UInt8.self)
        HexText.write(key.low >> 48, byteCount: 2, uppercase: false, into: target + 19)
        target.storeBytes(of: dash, toByteOffset: 23, as: UInt8.self)
        HexText.write(key.low, byteCount: 6, uppercase: false, into: target + 24)
    }

    /// The 128 bits of a GUID in 8-4-4-4-12 hex text (either case), nil for anything else.
    static func parse(_ text: String) -> GUIDKey? {
        guard text.utf8.count == guidLength else { return nil }
        var text = text
        return text.withUTF8 { bytes in
            let dash = UInt8(ascii: "-")
            guard bytes[8] == dash, bytes[13] == dash, bytes[18] == dash, bytes[23] == dash else { return nil }
            return nibbleValues.withUnsafeBufferPointer { nibbles in
                // Any invalid digit ORs 0x10 into `invalid`.
                var invalid: UInt8 = 0
                func hex(_ range: Range<Int>, into value: inout UInt64) {
                    for position in range {
                        let nibble = nibbles[Int(bytes[position])]
                        invalid |= nibble
                        value = value << 4 | UInt64(nibble & 0xF)
                    }
                }
                var high: UInt64 = 0
                var low: UInt64 = 0
                hex(0..<8, into: &high)
                hex(9..<13, into: &high)
                hex(14..<18, into: &high)
                hex(19..<23, into: &low)
                hex(24..<36, into: &low)
                return invalid & 0x10 == 0 ? GUIDKey(high: high, low: low) : nil
            }
        }
    }

    /// Per byte: its hex digit value, or 0x10 for a byte that is not a hex digit.
    private static let nibbleValues: [UInt8] = (0..<256).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt8(byte) - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt8(byte) - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt8(byte) - UInt8(ascii: "A") + 10
        default: 0x10
        }
    }
}
