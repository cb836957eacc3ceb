/// A hash table from user id to a small value, for the store's index of every tracked user: 32 bytes a slot.
///
/// Why not a `Dictionary`: a Swift dictionary keeps at most 3/4 of its buckets full and grows by doubling, so
/// 100,000 users take 262,144 buckets (8.4 MB with 16-byte values) — an eighth of the daemon's whole memory budget.
/// This table fills up to 7/8 before it doubles: 131,072 slots (4.2 MB) for the same users. It needs no removal
/// (the store never forgets a user while it runs), which keeps open addressing with linear probing simple: no
/// tombstones, a lookup stops at the first empty slot.
///
/// Slots are stable until the table grows, which only `insert` can do: a slot found by `slot(of:)` may be written
/// later as long as no insertion came in between.
struct UserIndex<Value> {
    /// The id in each slot, nil when empty.
    private var keys: [String?] = []
    private var values: [Value] = []
    /// Written into empty slots (never read from them).
    private let placeholder: Value
    /// Number of ids held.
    private(set) var count = 0
    /// Number of slots, empty ones included.
    var slotCount: Int { keys.count }

    init(placeholder: Value) { self.placeholder = placeholder }

    /// Makes room for `capacity` ids without growing again.
    mutating func reserveCapacity(_ capacity: Int) {
        let needed = Self.slots(for: capacity)
        if needed > keys.count { rehash(slots: needed) }
    }

    /// The slot holding `key`, nil if the table does not know it.
    func slot(of key: String) -> Int? {
        guard !keys.isEmpty else { return nil }
        let mask = keys.count - 1
        var slot = key.hashValue & mask
        while let stored = keys[slot] {
            if stored == key { return slot }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// The value in an occupied slot.
    subscript(slot: Int) -> Value {
        get { values[slot] }
        set { values[slot] = newValue }
    }

    /// The slot holding `key`, like `slot(of:)`; when the table holds another copy of the same id, it takes
    /// `key`'s copy in its place. With groups, the first cycles poll ids read from the database and later ones the
    /// strings a resolution built: without this the table would keep the first copies, every id twice.
    /// Replacing a key by an equal one moves no slot.
    mutating func slot(adopting key: String) -> Int? {
        guard let slot = slot(of: key) else { return nil }
        if let stored = keys[slot], !Self.sharesStorage(stored, key) { keys[slot] = key }
        return slot
    }

    /// The id in an occupied slot.
    func key(at slot: Int) -> String { keys[slot] ?? "" }

    /// True when `a` and `b` are the same heap copy of their text (not only equal). Ids of 15 bytes or less live
    /// inside the String itself, so they never count as shared (and cost no heap memory anyway).
    static func sharesStorage(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count > 15 else { return false }
        let first = a.utf8.withContiguousStorageIfAvailable { UnsafeRawPointer($0.baseAddress) } ?? nil
        let second = b.utf8.withContiguousStorageIfAvailable { UnsafeRawPointer($0.baseAddress) } ?? nil
        return first != nil && first == second
    }

    /// Sets the value of `key`, adding the key if it is new (which may grow the table and move every slot).
    mutating func insert(_ key: String, _ value: Value) {
        if let slot = slot(of: key) {
            values[slot] = value
            return
        }
        if Self.slots(for: count + 1) > keys.count { rehash(slots: Self.slots(for: count + 1)) }
        let mask = keys.count - 1
        var slot = key.hashValue & mask
        while keys[slot] != nil { slot = (slot + 1) & mask }
        keys[slot] = key
        values[slot] = value
        count += 1
    }

    /// Calls `body` with each id and its value, in no particular order.
    func forEach(_ body: (String, Value) throws -> Void) rethrows {
        for slot in keys.indices { if let key = keys[slot] { try body(key, values[slot]) } }
    }

    /// True if any value satisfies `predicate`.
    func containsValue(where predicate: (Value) -> Bool) -> Bool {
        keys.indices.contains { keys[$0] != nil && predicate(values[$0]) }
    }

    /// Applies `change` to every value in place.
    mutating func updateValues(_ change: (inout Value) -> Void) {
        for slot in keys.indices where keys[slot] != nil { change(&values[slot]) }
    }

    /// The smallest power of two that holds `count` ids at most 7/8 full (at least 16).
    private static func slots(for count: Int) -> Int {
        var slots = 16
        while count > slots - slots / 8 { slots *= 2 }
        return slots
    }

    private mutating func rehash(slots: Int) {
        let oldKeys = keys
        let oldValues = values
        keys = Array(repeating: nil, count: slots)
        values = Array(repeating: placeholder, count: slots)
        let mask = slots - 1
        for (key, value) in zip(oldKeys, oldValues) {
            guard let key else { continue }
            var slot = key.hashValue & mask
            while keys[slot] != nil { slot = (slot + 1) & mask }
            keys[slot] = key
            values[slot] = value
        }
    }
}
