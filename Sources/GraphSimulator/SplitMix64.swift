/// The simulator's own deterministic PRNG (SplitMix64, Steele/Lea/Flood 2014).
///
/// Used instead of `SystemRandomNumberGenerator` so that a seed fixes user ids, initial states, changes and answer
/// order. Not cryptographic; it only has to be fast and well mixed.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 finaliser: a stateless hash of one 64-bit value, for values derived from (seed, index).
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in `0..<1` with 53 bits of precision.
    mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform index in `0..<count` (count > 0), without modulo bias.
    mutating func nextIndex(_ count: Int) -> Int {
        Int(next(upperBound: UInt64(count)))
    }
}

extension SplitMix64 {
    /// The inverse of ``mix(_:)``: `unmix(mix(x)) == x` for every x. Lets a user id be mapped back to its index.
    static func unmix(_ value: UInt64) -> UInt64 {
        var z = value
        z = z ^ (z >> 31) ^ (z >> 62)
        z = z &* inverseMultiplier2
        z = z ^ (z >> 27) ^ (z >> 54)
        z = z &* inverseMultiplier1
        return z ^ (z >> 30) ^ (z >> 60)
    }

    private static let inverseMultiplier1 = multiplicativeInverse(0xBF58_476D_1CE4_E5B9)
    private static let inverseMultiplier2 = multiplicativeInverse(0x94D0_49BB_1331_11EB)

    /// The inverse of an odd number modulo 2^64, by Newton's iteration (each step doubles the correct bits).
    private static func multiplicativeInverse(_ odd: UInt64) -> UInt64 {
        var inverse = odd  // correct to 3 bits for any odd number
        for _ in 0..<5 {
            inverse = inverse &* (2 &- odd &* inverse)
        }
        return inverse
    }
}
