import Foundation
import GraphSimulator
import Testing

@Suite("Users and how their presence evolves")
struct StateEvolutionTests {
    @Test("a seed fixes the user ids, which are lower-case GUIDs")
    func deterministicIDs() {
        var configuration = SimulatorConfiguration()
        configuration.userCount = 50
        let first = GraphSimulator(configuration: configuration)
        let again = GraphSimulator(configuration: configuration)
        configuration.seed = 43
        let other = GraphSimulator(configuration: configuration)
        #expect(first.userIDs == again.userIDs)
        #expect(Set(first.userIDs).isDisjoint(with: other.userIDs))
        #expect(Set(first.userIDs).count == 50)
        for (index, id) in first.userIDs.enumerated() {
            #expect(GraphSimulator.userID(index: index, seed: 42) == id)
            #expect(id == id.lowercased())
            #expect(UUID(uuidString: id) != nil)
        }
    }

    @Test("the same seed gives the same first answer, byte for byte")
    func deterministicAnswers() async throws {
        var bodies: [String] = []
        for _ in 0..<2 {
            let body = try await withSimulator(.testing(changeProbability: 0.5)) { simulator, client in
                let answer = try await client.presences(simulator.userIDs, token: try await client.accessToken())
                #expect(answer.presences.count == 100)
                return answer.text.replacingOccurrences(of: client.baseURL, with: "BASE")
            }
            bodies.append(body)
        }
        #expect(bodies[0] == bodies[1], "same order, same states")
    }

    @Test("with change probability 0 every serve shows the same state")
    func stableStates() async throws {
        try await withSimulator(.testing(changeProbability: 0)) { simulator, client in
            let token = try await client.accessToken()
            let first = presencesByID(try await client.presences(simulator.userIDs, token: token))
            for _ in 0..<3 {
                #expect(presencesByID(try await client.presences(simulator.userIDs, token: token)) == first)
            }
            #expect(simulator.statistics.changesServed == 0)
        }
    }

    @Test("with change probability 1 every serve is a real change with a larger sequence number")
    func everyServeChanges() async throws {
        try await withSimulator(.testing(changeProbability: 1)) { simulator, client in
            let token = try await client.accessToken()
            var previous = simulator.userIDs.map { simulator.currentState(for: $0)! }
            for _ in 0..<5 {
                let served = presencesByID(try await client.presences(simulator.userIDs, token: token))
                for (index, id) in simulator.userIDs.enumerated() {
                    let state = try #require(served[id])
                    #expect(!state.hasSameContent(as: previous[index]))
                    #expect(state.sequenceNumber > previous[index].sequenceNumber)
                    previous[index] = state
                }
            }
            #expect(simulator.statistics.changesServed == 500)
        }
    }

    @Test("a sequence-only serve keeps the content and grows the sequence number")
    func sequenceOnly() async throws {
        try await withSimulator(.testing(changeProbability: 0, sequenceOnlyProbability: 1)) { simulator, client in
            let id = simulator.userIDs[0]
            let before = try #require(simulator.currentState(for: id))
            let served = try #require(
                presencesByID(try await client.presences([id], token: try await client.accessToken()))[id])
            #expect(served.hasSameContent(as: before))
            #expect(served.sequenceNumber > before.sequenceNumber)
            #expect(simulator.statistics.sequenceOnlyChangesServed == 1)
        }
    }

    @Test("servedStates lists the distinct consecutive states that were served")
    func servedStatesRecord() async throws {
        try await withSimulator(.testing(changeProbability: 0.5, recordServedStates: true)) { simulator, client in
            let token = try await client.accessToken()
            let ids = Array(simulator.userIDs.prefix(10))
            var seen: [String: [SimulatedPresence]] = [:]
            for _ in 0..<12 {
                for (id, state) in presencesByID(try await client.presences(ids, token: token))
                where seen[id]?.last != state {
                    seen[id, default: []].append(state)
                }
            }
            for id in ids {
                #expect(simulator.servedStates(for: id) == seen[id])
            }
            #expect(simulator.servedStates(for: simulator.userIDs[50]).isEmpty, "never served")
        }
    }

    @Test("messages with quotes, backslashes, newlines, markup and emoji survive JSON round trips")
    func nastyMessagesRoundTrip() async throws {
        try await withSimulator(.testing(userCount: 300, changeProbability: 1)) { simulator, client in
            let token = try await client.accessToken()
            var messages = Set<String>()
            for _ in 0..<10 {
                let answer = try await client.presences(simulator.userIDs, token: token)
                #expect(answer.json != nil, "JSONSerialization parses the whole answer")
                for (id, served) in presencesByID(answer) {
                    #expect(served == simulator.currentState(for: id))
                    if let message = served.statusMessage { messages.insert(message) }
                    if let message = served.outOfOfficeMessage { messages.insert(message) }
                }
            }
            #expect(messages.contains { $0.contains("\"") })
            #expect(messages.contains { $0.contains("\\") })
            #expect(messages.contains { $0.contains("\n") })
            #expect(messages.contains { $0.contains("<") })
            #expect(messages.contains { $0.contains("日本") || $0.contains("休暇") })
            #expect(messages.contains { $0.unicodeScalars.contains { $0.properties.isEmojiPresentation } })
            #expect(messages.contains { $0.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" } })
        }
    }

    // Start-up time is the benchmark's business, not a timed unit test's: this checks the tenant is complete.
    @Test("a tenant of 100,000 users starts with 100,000 distinct ids and serves any of them")
    func largeTenantStartup() async throws {
        var configuration = SimulatorConfiguration()
        configuration.userCount = 100_000
        let simulator = GraphSimulator(configuration: configuration, logger: quietLogger)
        _ = try await simulator.start()
        let ids = simulator.userIDs
        #expect(ids.count == 100_000)
        #expect(Set(ids).count == 100_000, "ids are distinct")
        let client = SimulatorClient(baseURL: simulator.baseURL, configuration: configuration)
        let sample = [ids[0], ids[54_321], ids[99_999]]
        let answer = try await client.presences(sample, token: try await client.accessToken())
        await simulator.stop()
        #expect(Set(presencesByID(answer).keys) == Set(sample))
    }
}
