import Foundation
import GraphSimulator
import Testing

@Suite("Graph access token checks")
struct AuthorizationTests {
    /// Checks a 401 is Graph's `InvalidAuthenticationToken` error with its full `innerError`.
    static func expectInvalidToken(_ answer: HTTPAnswer, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answer.status == 401, sourceLocation: sourceLocation)
        #expect(answer.graphError["code"] as? String == "InvalidAuthenticationToken", sourceLocation: sourceLocation)
        #expect((answer.graphError["message"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
        let inner = answer.graphError["innerError"] as? [String: Any] ?? [:]
        #expect(inner["date"] is String, sourceLocation: sourceLocation)
        #expect(inner["request-id"] as? String == answer.headers["request-id"], sourceLocation: sourceLocation)
        #expect(inner["client-request-id"] is String, sourceLocation: sourceLocation)
        #expect(answer.headers["www-authenticate"]?.hasPrefix("Bearer") == true, sourceLocation: sourceLocation)
    }

    @Test("refuses a request without a token")
    func missingToken() async throws {
        try await withSimulator { simulator, client in
            let answer = try await client.presences([simulator.userIDs[0]], token: nil)
            Self.expectInvalidToken(answer)
            #expect(simulator.statistics.rejectedRequests == 1)
            #expect(simulator.statistics.usersServed == 0)
        }
    }

    @Test("refuses a token it never issued")
    func unknownToken() async throws {
        try await withSimulator { simulator, client in
            Self.expectInvalidToken(try await client.presences([simulator.userIDs[0]], token: "eyJ.forged.token"))
        }
    }

    @Test("refuses revoked tokens and accepts tokens issued afterwards")
    func revokedTokens() async throws {
        try await withSimulator { simulator, client in
            let ids = [simulator.userIDs[0]]
            let old = try await client.accessToken()
            #expect(try await client.presences(ids, token: old).status == 200)
            simulator.revokeTokens()
            Self.expectInvalidToken(try await client.presences(ids, token: old))
            #expect(try await client.presences(ids, token: try await client.accessToken()).status == 200)
        }
    }

    @Test("refuses a token once its lifetime has passed")
    func expiredToken() async throws {
        // Four seconds: with one, a loaded machine sometimes spent the whole lifetime between issue and first use.
        try await withSimulator(.testing(tokenLifetimeSeconds: 4)) { simulator, client in
            let token = try await client.accessToken()
            #expect(try await client.presences([simulator.userIDs[0]], token: token).status == 200)
            try await Task.sleep(for: .milliseconds(4_100))
            let answer = try await client.presences([simulator.userIDs[0]], token: token)
            Self.expectInvalidToken(answer)
            #expect((answer.graphError["message"] as? String)?.contains("expired") == true)
        }
    }
}
