/// Each user's answer fingerprint, by `UserKey`: what the store knows it has recorded, so that an unchanged answer
/// is recognised without a String, a hash of an id string, a read or a hop to the store's thread.
///
/// Open addressing with linear probing in three flat arrays (keys, fingerprints, occupancy): 25 bytes a slot,
/// filled up to 7/8 before it doubles, so 100,000 users take 131,072 slots (3.3 MB); a Swift `Dictionary` keeps at
/// most 3/4 full and would need twice the slots. Users are never removed: a forgotten user keeps its slot with
/// fingerprint 0, which matches no answer (fingerprints are never 0), so lookups need no tombstones.
struct FingerprintTable {
    private var highs: [UInt64] = []
    private var lows: [UInt64] = []
    private var fingerprints: [UInt64] = []
    private var occupied: [Bool] = []
    /// Number of users with a slot.
    private(set) var count = 0

    /// Number of slots, empty ones included.
    var slotCount: Int { occupied.count }

    /// Makes room for `capacity` users without growing again.
    mutating func reserveCapacity(_ capacity: Int) {
        let needed = Self.slots(for: capacity)
        if needed > occupied.count { rehash(slots: needed) }
    }

    /// The fingerprint last recorded for `key`, 0 when none is.
    func fingerprint(of key: UserKey) -> UInt64 {
        guard count > 0 else { return 0 }
        let mask = occupied.count - 1
        var slot = key.slot(mask: mask)
        while occupied[slot] {
            if highs[slot] == key.high && lows[slot] == key.low { return fingerprints[slot] }
            slot = (slot + 1) & mask
        }
        return 0
    }

    /// Records `fingerprint` for `key` (0 forgets it: the user's next answer is decoded and compared in full).
    mutating func set(_ key: UserKey, _ fingerprint: UInt64) {
        if Self.slots(for: count + 1) > occupied.count { rehash(slots: Self.slots(for: count + 1)) }
        let mask = occupied.count - 1
        var slot = key.slot(mask: mask)
        while occupied[slot] {
            if highs[slot] == key.high && lows[slot] == key.low {
                fingerprints[slot] = fingerprint
                return
            }
            slot = (slot + 1) & mask
        }
        guard fingerprint != 0 else { return }
        occupied[slot] = true
        highs[slot] = key.high
        lows[slot] = key.low
        fingerprints[slot] = fingerprint
        count += 1
    }

    /// Forgets every fingerprint (keeps the slots).
    mutating func forgetAll() {
        for slot in fingerprints.indices { fingerprints[slot] = 0 }
    }

    /// The smallest power of two that holds `count` users at most 7/8 full (at least 16).
    private static func slots(for count: Int) -> Int {
        var slots = 16
        while count > slots - slots / 8 { slots *= 2 }
        return slots
    }

    private mutating func rehash(slots: Int) {
        let old = (highs, lows, fingerprints, occupied)
        highs = Array(repeating: 0, count: slots)
        lows = Array(repeating: 0, count: slots)
        fingerprints = Array(repeating: 0, count: slots)
        occupied = Array(repeating: false, count: slots)
        let mask = slots - 1
        for index in old.3.indices where old.3[index] {
            var slot = UserKey(high: old.0[index], low: old.1[index]).slot(mask: mask)
            while occupied[slot] { slot = (slot + 1) & mask }
            occupied[slot] = true
            highs[slot] = old.0[index]
            lows[slot] = old.1[index]
            fingerprints[slot] = old.2[index]
        }
    }
}
