/// The tenant's users: object ids derived from (seed, index), and the reverse lookup.
///
/// Immutable after creation, so request handlers read it without locking.
struct UserDirectory: Sendable {
    /// User object ids, lower-case GUID text, in index order.
    let ids: [String]
    /// The UTF-8 bytes of every id back to back (36 bytes each), for writing answers without String work.
    let idBytes: [UInt8]
    private let indexByID: [String: Int32]

    /// Length of a GUID in its textual form.
    static let guidLength = 36

    init(count: Int, seed: UInt64) {
        // Written with raw buffers: this runs 100,000 times at startup, also in unoptimised debug builds.
        let idBytes = [UInt8](unsafeUninitializedCapacity: count * Self.guidLength) { buffer, initialized in
            for index in 0..<count {
                Self.writeUserID(index: index, seed: seed, into: buffer.baseAddress! + index * Self.guidLength)
            }
            initialized = count * Self.guidLength
        }
        var indexByID: [String: Int32] = [:]
        indexByID.reserveCapacity(count)
        let ids = idBytes.withUnsafeBufferPointer { bytes in
            (0..<count).map { index in
                let id = String(decoding: UnsafeBufferPointer(rebasing: bytes[index * 36..<(index + 1) * 36]), as: UTF8.self)
                let previous = indexByID.updateValue(Int32(index), forKey: id)
                precondition(previous == nil, "user id collision for seed \(seed) at index \(index)")
                return id
            }
        }
        self.ids = ids
        self.idBytes = idBytes
        self.indexByID = indexByID
    }

    var count: Int { ids.count }

    /// The index of the user with this object id; GUIDs compare case-insensitively, as in Entra.
    func index(of id: String) -> Int? {
        if let index = indexByID[id] { return Int(index) }
        guard id.utf8.count == Self.guidLength else { return nil }
        return indexByID[id.lowercased()].map(Int.init)
    }

    /// The id of user `index` for `seed` as a version-4-shaped GUID in lower-case text.
    static func userIDBytes(index: Int, seed: UInt64) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: guidLength) { buffer, initialized in
            writeUserID(index: index, seed: seed, into: buffer.baseAddress!)
            initialized = guidLength
        }
    }

    /// Writes the 36 bytes of user `index`'s id at `target`.
    private static func writeUserID(index: Int, seed: UInt64, into target: UnsafeMutablePointer<UInt8>) {
        let high = SplitMix64.mix(seed ^ SplitMix64.mix(UInt64(truncatingIfNeeded: index)))
        let low = SplitMix64.mix(high ^ 0xA5A5_5A5A_C3C3_3C3C ^ seed)
        // Version nibble 4 and RFC 4122 variant bits, so the ids look like the ones Entra hands out.
        let versioned = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let varianted = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        // 8-4-4 hex digits from `versioned`, then 4-12 from `varianted`.
        var position = 0
        for digit in 0..<32 {
            if digit == 8 || digit == 12 || digit == 16 || digit == 20 {
                target[position] = UInt8(ascii: "-")
                position += 1
            }
            let value = digit < 16 ? versioned : varianted
            let nibble = (value >> UInt64((15 - digit % 16) * 4)) & 0xF
            target[position] = nibble < 10 ? UInt8(48 + nibble) : UInt8(87 + nibble)  // 0-9, a-f
            position += 1
        }
    }

    /// True when `text` has the 8-4-4-4-12 hex shape of a GUID (either case), the only ids Graph accepts.
    static func isGUID(_ text: String) -> Bool {
        var count = 0
        for (position, byte) in text.utf8.enumerated() {
            count += 1
            if position == 8 || position == 13 || position == 18 || position == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard hexValue(byte) != nil else { return false }
            }
        }
        return count == guidLength
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
