/// A fast 64-bit hash of a few short byte strings, for presence fingerprints that live only in this process.
///
/// Not a general-purpose hash: it is keyed with a random seed per process, so that fingerprints cannot be
/// predicted (a crafted status message cannot be made to collide with another on purpose), and its values are
/// never stored or sent anywhere. Eight bytes are mixed per round (xxHash64's round and final avalanche), which
/// keeps a presence object's ~60 compared bytes at a few nanoseconds.
struct FingerprintHasher {
    private var state: UInt64

    /// The process's key; fingerprints are compared only with fingerprints made by the same process.
    static let processSeed = UInt64.random(in: .min ... .max)

    init(seed: UInt64 = Self.processSeed) { state = seed ^ 0x27D4_EB2F_1656_67C5 }

    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F

    /// Mixes in one word.
    mutating func combine(_ word: UInt64) {
        var lane = word &* Self.prime2
        lane = (lane << 31) | (lane >> 33)
        lane &*= Self.prime1
        state ^= lane
        state = ((state << 27) | (state >> 37)) &* Self.prime1 &+ 0x85EB_CA77_C2B2_AE63
    }

    /// Mixes in `bytes` and their length (so that "ab","c" and "a","bc" differ).
    mutating func combine(bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset + 8 <= bytes.count {
            combine(bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        if offset < bytes.count {
            var tail: UInt64 = 0
            for index in offset..<bytes.count { tail |= UInt64(bytes[index]) << (8 * UInt64(index - offset)) }
            combine(tail)
        }
        combine(UInt64(bytes.count) | 0xB000_0000_0000_0000)
    }

    /// The hash of everything combined so far.
    func finalize() -> UInt64 {
        var hash = state
        hash ^= hash >> 33
        hash &*= Self.prime2
        hash ^= hash >> 29
        hash &*= 0x1656_67B1_9E37_79F9
        hash ^= hash >> 32
        return hash
    }
}
