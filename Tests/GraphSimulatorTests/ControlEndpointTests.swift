import Foundation
import GraphSimulator
import Testing

@Suite("Control endpoints and lifecycle")
struct ControlEndpointTests {
    @Test("start binds a free loopback port, stop is idempotent")
    func lifecycle() async throws {
        let simulator = GraphSimulator(configuration: SimulatorConfiguration(), logger: quietLogger)
        #expect(simulator.port == nil)
        let port = try await simulator.start()
        #expect(port > 0)
        #expect(simulator.port == port)
        #expect(simulator.baseURL == "http://127.0.0.1:\(port)")
        #expect(try await simulator.start() == port, "starting again reports the same port")
        await simulator.stop()
        await simulator.stop()
        #expect(simulator.port == nil)
    }

    @Test("a taken port makes start throw")
    func portTaken() async throws {
        try await withSimulator { simulator, _ in
            var configuration = SimulatorConfiguration()
            configuration.port = try #require(simulator.port)
            await #expect(throws: GraphSimulatorError.self) {
                try await GraphSimulator(configuration: configuration, logger: quietLogger).start()
            }
        }
    }

    @Test("GET /_simulator/users lists the tenant's ids")
    func users() async throws {
        try await withSimulator { simulator, client in
            let answer = try await client.send("GET", "/_simulator/users")
            #expect(answer.status == 200)
            #expect(answer.json as? [String] == simulator.userIDs)
        }
    }

    @Test("GET /_simulator/statistics reports the counters")
    func statistics() async throws {
        try await withSimulator { simulator, client in
            _ = try await client.presences(Array(simulator.userIDs.prefix(5)), token: try await client.accessToken())
            let answer = try await client.send("GET", "/_simulator/statistics")
            let decoded = try JSONDecoder().decode(SimulatorStatistics.self, from: answer.body)
            #expect(decoded == simulator.statistics)
            #expect(decoded.tokenRequests == 1)
            #expect(decoded.presenceRequests == 1)
            #expect(decoded.usersServed == 5)
        }
    }

    @Test("POST /_simulator/faults queues faults given as JSON")
    func faults() async throws {
        try await withSimulator { simulator, client in
            let faults: [SimulatedFault] = [
                .status(429, retryAfterSeconds: 3), .delay(milliseconds: 1), .malformedJSON,
            ]
            let queued = try await client.send("POST", "/_simulator/faults", body: try JSONEncoder().encode(faults))
            #expect(queued.status == 204)
            let token = try await client.accessToken()
            let ids = [simulator.userIDs[0]]
            let throttled = try await client.presences(ids, token: token)
            #expect(throttled.status == 429)
            #expect(throttled.headers["retry-after"] == "3")
            #expect(try await client.presences(ids, token: token).presences.count == 1)
            #expect(try await client.presences(ids, token: token).json == nil)
            let invalid = try await client.send("POST", "/_simulator/faults", body: Data("[{\"kind\":\"nope\"}]".utf8))
            #expect(invalid.status == 400)
        }
    }

    @Test("GET /_simulator/served and /_simulator/presence describe a user")
    func servedAndPresence() async throws {
        try await withSimulator(.testing(recordServedStates: true)) { simulator, client in
            let id = simulator.userIDs[3]
            _ = try await client.presences([id], token: try await client.accessToken())
            let served = try await client.send("GET", "/_simulator/served/\(id)")
            #expect(
                try JSONDecoder().decode([SimulatedPresence].self, from: served.body) == simulator.servedStates(for: id)
            )
            let current = try await client.send("GET", "/_simulator/presence/\(id)")
            #expect(
                try JSONDecoder().decode(SimulatedPresence.self, from: current.body) == simulator.currentState(for: id))
            #expect(try await client.send("GET", "/_simulator/served/\(PresenceEndpointTests.unknownID)").status == 404)
        }
    }

    @Test("POST /_simulator/revoke-tokens revokes every issued token")
    func revoke() async throws {
        try await withSimulator { simulator, client in
            let token = try await client.accessToken()
            #expect(try await client.send("POST", "/_simulator/revoke-tokens").status == 204)
            #expect(try await client.presences([simulator.userIDs[0]], token: token).status == 401)
        }
    }
}
