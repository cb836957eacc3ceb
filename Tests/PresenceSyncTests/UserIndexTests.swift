import Testing

@testable import PresenceSync

/// The store's index of users: a hash table that must agree with a Dictionary while using half its memory.
@Suite("UserIndex: the store's in-memory index of users")
struct UserIndexTests {
    static func id(_ number: Int) -> String {
        // Spread over the id like real object ids, not only in the last digits.
        let hex = String(UInt64(number) &* 0x9e37_79b9_7f4a_7c15, radix: 16)
        let padded = String(repeating: "0", count: 16 - hex.count) + hex
        return "\(padded.prefix(8))-\(padded.dropFirst(8).prefix(4))-4000-8000-\(padded.suffix(4))00000000"
    }

    @Test("agrees with a Dictionary through growth from empty, repeated keys and updates by slot")
    func agreesWithDictionary() {
        var index = UserIndex(placeholder: -1)
        var model: [String: Int] = [:]
        var random: UInt64 = 42
        for step in 0..<20_000 {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let key = Self.id(Int(random >> 40) % 6_000)
            if step % 3 == 0, let slot = index.slot(of: key) {
                index[slot] = step
            } else {
                index.insert(key, step)
            }
            model[key] = step
        }
        #expect(index.count == model.count)
        for (key, value) in model { #expect(index.slot(of: key).map { index[$0] } == value) }
        #expect(index.slot(of: Self.id(6_001)) == nil)
        var visited: [String: Int] = [:]
        index.forEach { key, value in
            visited[key, default: 0] += 1
            #expect(model[key] == value)
        }
        #expect(visited.count == model.count && visited.values.allSatisfy { $0 == 1 })
    }

    @Test("an equal id from another copy can take a slot's place, so the old copy is not kept twice")
    func replaceKeyWithSharedCopy() throws {
        var index = UserIndex(placeholder: 0)
        let stored = Self.id(1)
        let copy = String(decoding: Array(stored.utf8), as: UTF8.self)
        index.insert(stored, 1)
        let slot = try #require(index.slot(of: copy))
        #expect(UserIndex<Int>.sharesStorage(index.key(at: slot), stored))
        #expect(!UserIndex<Int>.sharesStorage(index.key(at: slot), copy), "equal text, another heap copy")
        #expect(index.slot(adopting: copy) == slot)
        #expect(UserIndex<Int>.sharesStorage(index.key(at: slot), copy))
        #expect(index.slot(of: stored) == slot && index[slot] == 1 && index.count == 1)
    }

    @Test("100,000 ids fit in 131,072 slots (4.2 MB with 16-byte values), where a Dictionary takes 262,144")
    func reservedCapacityHolds() {
        var index = UserIndex(placeholder: 0)
        index.reserveCapacity(100_000)
        #expect(index.slotCount == 131_072)
        for number in 0..<100_000 { index.insert(Self.id(number), number) }
        #expect(index.slotCount == 131_072, "no growth after reserving")
        #expect(index.count == 100_000)
        #expect((0..<100_000).allSatisfy { index.slot(of: Self.id($0)).map { index[$0] } == $0 })
        #expect(index.containsValue { $0 == 99_999 } && !index.containsValue { $0 < 0 })
        index.updateValues { $0 = -$0 }
        #expect(index.slot(of: Self.id(7)).map { index[$0] } == -7)
    }
}
