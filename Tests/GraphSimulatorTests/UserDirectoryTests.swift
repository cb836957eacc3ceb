import Foundation
import GraphSimulator
import Testing

@Suite("User ids")
struct UserDirectoryTests {
    @Test("every id maps back to its user, in either case", arguments: [0, 42, UInt64.max])
    func idsResolve(seed: UInt64) {
        var configuration = SimulatorConfiguration()
        configuration.seed = seed
        configuration.userCount = 2_000
        let simulator = GraphSimulator(configuration: configuration)
        for id in simulator.userIDs {
            #expect(simulator.currentState(for: id) != nil)
            #expect(simulator.currentState(for: id.uppercased()) == simulator.currentState(for: id))
        }
    }

    @Test("ids of other users, other seeds and random GUIDs are unknown")
    func foreignIDsAreUnknown() {
        var configuration = SimulatorConfiguration()
        configuration.userCount = 1_000
        let simulator = GraphSimulator(configuration: configuration)
        let beyondTheTenant = (1_000..<1_100).map { GraphSimulator.userID(index: $0, seed: 42) }
        let otherSeed = (0..<100).map { GraphSimulator.userID(index: $0, seed: 7) }
        let random = (0..<100).map { _ in UUID().uuidString.lowercased() }
        for id in beyondTheTenant + otherSeed + random {
            #expect(simulator.currentState(for: id) == nil)
        }
        #expect(simulator.currentState(for: "not-a-guid") == nil)
        #expect(simulator.currentState(for: String(simulator.userIDs[0].dropLast())) == nil)
        #expect(simulator.currentState(for: simulator.userIDs[0] + "0") == nil)
    }

    @Test("ids look like version-4 GUIDs")
    func guidShape() {
        for index in 0..<200 {
            let id = GraphSimulator.userID(index: index, seed: 42)
            let characters = Array(id)
            #expect(characters.count == 36)
            #expect(characters[14] == "4", "version nibble")
            #expect("89ab".contains(characters[19]), "RFC 4122 variant")
            #expect(UUID(uuidString: id) != nil)
        }
    }
}
