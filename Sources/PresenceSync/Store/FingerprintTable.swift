/// Each user's answer fingerprint, by `UserKey`: what the store knows it has recorded, so that an unchanged answer
/// is recognised without a String, a hash of an id string, a read or a hop to the store's thread.
///
/// It also holds each user's integer key in the file (`user_keys.key`), so the store turns an id into the key its
/// compact rows use without a lookup in SQLite.
///
/// Open addressing with linear probing in flat arrays (keys, fingerprints, file keys, occupancy): 29 bytes a slot,
/// filled up to 7/8 before it doubles, so 100,000 users take 131,072 slots (3.8 MB); a Swift `Dictionary` keeps at
/// most 3/4 full and would need twice the slots. Users are never removed: a forgotten user keeps its slot with
/// fingerprint 0, which matches no answer (fingerprints are never 0), so lookups need no tombstones.
struct FingerprintTable {
    private var highs: [UInt64] = []
    private var lows: [UInt64] = []
    private var fingerprints: [UInt64] = []
    /// `user_keys.key` of each user, 0 when not known yet.
    private var fileKeys: [UInt32] = []
    private var occupied: [Bool] = []
    /// Number of users with a slot.
    private(set) var count = 0

    /// Number of users with a fingerprint (a scan: for tests and reports).
    var fingerprintCount: Int { fingerprints.reduce(0) { $0 + ($1 == 0 ? 0 : 1) } }

    /// Number of slots, empty ones included.
    var slotCount: Int { occupied.count }

    /// Makes room for `capacity` users without growing again.
    mutating func reserveCapacity(_ capacity: Int) {
        let needed = Self.slots(for: capacity)
        if needed > occupied.count { rehash(slots: needed) }
    }

    /// The fingerprint last recorded for `key`, 0 when none is.
    func fingerprint(of key: UserKey) -> UInt64 {
        find(key).map { fingerprints[$0] } ?? 0
    }

    /// Records `fingerprint` for `key` (0 forgets it: the user's next answer is decoded and compared in full).
    mutating func set(_ key: UserKey, _ fingerprint: UInt64) {
        if let slot = slot(of: key, creating: fingerprint != 0) { fingerprints[slot] = fingerprint }
    }

    /// The user's key in the file (`user_keys.key`), nil when not known yet.
    func fileKey(of key: UserKey) -> Int64? {
        guard let slot = find(key), fileKeys[slot] != 0 else { return nil }
        return Int64(fileKeys[slot])
    }

    /// Records the user's key in the file (0 forgets it, after a rolled-back insert).
    mutating func setFileKey(_ key: UserKey, _ fileKey: Int64) {
        precondition(fileKey >= 0 && fileKey <= Int64(UInt32.max), "user key \(fileKey) out of range")
        if let slot = slot(of: key, creating: fileKey != 0) { fileKeys[slot] = UInt32(fileKey) }
    }

    /// The slot holding `key`, or nil when it has none.
    private func find(_ key: UserKey) -> Int? {
        guard count > 0 else { return nil }
        let slot = probe(key)
        return occupied[slot] ? slot : nil
    }

    /// The slot holding `key`, else the empty slot where it would go (the table is never full).
    private func probe(_ key: UserKey) -> Int {
        let mask = occupied.count - 1
        var slot = key.slot(mask: mask)
        while occupied[slot] {
            if highs[slot] == key.high && lows[slot] == key.low { return slot }
            slot = (slot + 1) & mask
        }
        return slot
    }

    /// The slot holding `key`; a new one if `creating` (growing first when needed), else nil when absent.
    private mutating func slot(of key: UserKey, creating: Bool) -> Int? {
        if creating, Self.slots(for: count + 1) > occupied.count { rehash(slots: Self.slots(for: count + 1)) }
        guard !occupied.isEmpty else { return nil }
        let slot = probe(key)
        if occupied[slot] { return slot }
        guard creating else { return nil }
        occupied[slot] = true
        highs[slot] = key.high
        lows[slot] = key.low
        fingerprints[slot] = 0
        fileKeys[slot] = 0
        count += 1
        return slot
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
        let old = (highs, lows, fingerprints, fileKeys, occupied)
        highs = Array(repeating: 0, count: slots)
        lows = Array(repeating: 0, count: slots)
        fingerprints = Array(repeating: 0, count: slots)
        fileKeys = Array(repeating: 0, count: slots)
        occupied = Array(repeating: false, count: slots)
        let mask = slots - 1
        for index in old.4.indices where old.4[index] {
            var slot = UserKey(high: old.0[index], low: old.1[index]).slot(mask: mask)
            while occupied[slot] { slot = (slot + 1) & mask }
            occupied[slot] = true
            highs[slot] = old.0[index]
            lows[slot] = old.1[index]
            fingerprints[slot] = old.2[index]
            fileKeys[slot] = old.3[index]
        }
    }
}
