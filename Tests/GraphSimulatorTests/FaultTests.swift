import Foundation
import GraphSimulator
import Testing

@Suite("Injected faults")
struct FaultTests {
    /// Sends one request that must be answered by the fault, then one that must be served normally.
    static func serveFaultThenNormal(
        _ fault: SimulatedFault, check: (HTTPAnswer, GraphSimulator) throws -> Void
    ) async throws {
        try await withSimulator { simulator, client in
            let ids = Array(simulator.userIDs.prefix(20))
            let token = try await client.accessToken()
            simulator.inject([fault])
            let faulty = try await client.presences(ids, token: token)
            try check(faulty, simulator)
            #expect(simulator.statistics.faultsServed == 1)
            let normal = try await client.presences(ids, token: token)
            #expect(normal.status == 200)
            #expect(normal.presences.count == ids.count)
        }
    }

    @Test("429 carries Retry-After and Graph's TooManyRequests body")
    func throttled() async throws {
        try await Self.serveFaultThenNormal(.status(429, retryAfterSeconds: 7)) { answer, _ in
            #expect(answer.status == 429)
            #expect(answer.headers["retry-after"] == "7")
            #expect(answer.graphError["code"] as? String == "TooManyRequests")
            let inner = try #require(answer.graphError["innerError"] as? [String: Any])
            #expect(inner["status"] as? String == "429")
            #expect(inner["request-id"] as? String == answer.headers["request-id"])
            #expect(inner["date"] is String)
        }
    }

    @Test(
        "server errors carry Graph's code and no Retry-After unless asked",
        arguments: [(503, "ServiceUnavailable"), (504, "GatewayTimeout"), (500, "InternalServerError")]
    )
    func serverErrors(_ status: Int, _ code: String) async throws {
        try await Self.serveFaultThenNormal(.status(status, retryAfterSeconds: nil)) { answer, _ in
            #expect(answer.status == status)
            #expect(answer.headers["retry-after"] == nil)
            #expect(answer.graphError["code"] as? String == code)
        }
    }

    @Test("malformed JSON is a 200 whose body does not parse")
    func malformed() async throws {
        try await Self.serveFaultThenNormal(.malformedJSON) { answer, _ in
            #expect(answer.status == 200)
            #expect(answer.json == nil)
        }
    }

    @Test("truncated JSON is half a valid answer and changes nothing")
    func truncated() async throws {
        try await withSimulator(.testing(changeProbability: 1)) { simulator, client in
            let ids = Array(simulator.userIDs.prefix(20))
            let before = ids.map { simulator.currentState(for: $0) }
            simulator.inject([.truncatedJSON])
            let answer = try await client.presences(ids, token: try await client.accessToken())
            #expect(answer.status == 200)
            #expect(answer.json == nil)
            #expect(answer.text.hasPrefix("{\"@odata.context\":"))
            #expect(answer.text.contains(ids[0]) || answer.text.contains(ids[1]))
            #expect(ids.map { simulator.currentState(for: $0) } == before)
            #expect(simulator.statistics.usersServed == 0)
        }
    }

    @Test("a missing value array is a 200 with other JSON")
    func missingValue() async throws {
        try await Self.serveFaultThenNormal(.missingValueArray) { answer, _ in
            #expect(answer.status == 200)
            #expect(answer.object.keys.sorted() == ["something"])
        }
    }

    @Test("an invalid-token fault is a 401 while the token stays valid")
    func invalidToken() async throws {
        try await Self.serveFaultThenNormal(.invalidToken) { answer, _ in
            AuthorizationTests.expectInvalidToken(answer)
        }
    }

    @Test("a delay holds the answer, which then is normal")
    func delay() async throws {
        try await withSimulator { simulator, client in
            let token = try await client.accessToken()
            simulator.inject([.delay(milliseconds: 300)])
            let start = ContinuousClock.now
            let answer = try await client.presences([simulator.userIDs[0]], token: token)
            #expect(ContinuousClock.now - start >= .milliseconds(300))
            #expect(answer.status == 200)
            #expect(answer.presences.count == 1)
        }
    }

    @Test("faults apply one per request in order, after the token check")
    func fifoAfterTokenCheck() async throws {
        try await withSimulator { simulator, client in
            let ids = [simulator.userIDs[0]]
            simulator.inject([.status(503, retryAfterSeconds: 1), .status(429, retryAfterSeconds: 2)])
            #expect(try await client.presences(ids, token: nil).status == 401)
            let token = try await client.accessToken()
            #expect(try await client.presences(ids, token: token).status == 503)
            #expect(try await client.presences(ids, token: token).status == 429)
            #expect(try await client.presences(ids, token: token).status == 200)
            #expect(simulator.statistics.faultsServed == 2)
        }
    }
}
