import Foundation
import GraphSimulator
import Testing

/// The simulator's single-user endpoints: directory lookups, one-user reads and the presence write APIs.
@Suite("Simulator presence API endpoints")
struct PresenceAPIEndpointTests {
    static func post(
        _ client: SimulatorClient, _ user: String, _ action: String, _ body: [String: Any], token: String
    ) async throws -> HTTPAnswer {
        try await client.send(
            "POST", "/v1.0/users/\(user)/presence/\(action)",
            headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"],
            body: JSONSerialization.data(withJSONObject: body))
    }

    static func get(_ client: SimulatorClient, _ path: String, token: String?) async throws -> HTTPAnswer {
        try await client.send("GET", path, headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
    }

    @Test("users resolve by UPN (also the quoted $ form) and by id; unknown users are 404 in Graph's error shape")
    func userLookup() async throws {
        try await withSimulator(.testing(userCount: 50)) { simulator, client in
            let token = try await client.accessToken()
            let id = simulator.userIDs[42]
            let upn = try #require(simulator.userPrincipalName(for: id))
            #expect(upn == "user00042@simulated.example")
            let byUPN = try await Self.get(client, "/v1.0/users/\(upn)?$select=id", token: token)
            #expect(byUPN.status == 200)
            #expect(byUPN.object["id"] as? String == id)
            #expect(byUPN.object.keys.sorted() == ["@odata.context", "id"])
            let full = try await Self.get(client, "/v1.0/users/\(id.uppercased())", token: token)
            #expect(full.object["userPrincipalName"] as? String == upn)
            let quoted = try await Self.get(
                client, "/v1.0/users('USER00007@simulated.example')?$select=id", token: token)
            #expect(quoted.object["id"] as? String == simulator.userIDs[7])
            let unknown = try await Self.get(client, "/v1.0/users/user00050@simulated.example?$select=id", token: token)
            #expect(unknown.status == 404)
            #expect(unknown.graphError["code"] as? String == "Request_ResourceNotFound")
            #expect(unknown.headers["request-id"] != nil)
            let noToken = try await Self.get(client, "/v1.0/users/\(upn)", token: nil)
            #expect(noToken.status == 401)
        }
    }

    @Test("setPresence validates pairs, durations and sessionId; a valid one changes every read until cleared")
    func setAndClearPresence() async throws {
        try await withSimulator(.testing(userCount: 10, changeProbability: 0)) { simulator, client in
            let token = try await client.accessToken()
            let id = simulator.userIDs[3]
            let session = client.configuration.clientID
            let badPair = try await Self.post(
                client, id, "setPresence",
                ["sessionId": session, "availability": "Busy", "activity": "InAMeeting"], token: token)
            #expect(badPair.status == 400)
            let tooLong = try await Self.post(
                client, id, "setPresence",
                ["sessionId": session, "availability": "Busy", "activity": "InACall", "expirationDuration": "PT5H"],
                token: token)
            #expect(tooLong.status == 400)
            let wrongSession = try await Self.post(
                client, id, "setPresence",
                ["sessionId": "22222222-2222-2222-2222-222222222222", "availability": "Away", "activity": "Away"],
                token: token)
            #expect(wrongSession.status == 400)
            let noSession = try await Self.post(client, id, "clearPresence", ["sessionId": session], token: token)
            #expect(noSession.status == 404)
            #expect(noSession.graphError["code"] as? String == "NotFound")
            let unknownUser = try await Self.post(
                client, "00000000-0000-4000-8000-000000000000", "clearUserPreferredPresence", [:], token: token)
            #expect(unknownUser.status == 404)

            let before = try #require(simulator.currentState(for: id))
            let set = try await Self.post(
                client, id, "setPresence",
                [
                    "sessionId": session, "availability": "DoNotDisturb", "activity": "Presenting",
                    "expirationDuration": "PT1H",
                ], token: token)
            #expect(set.status == 200)
            let served = presencesByID(try await client.presences([id], token: token))[id]
            #expect(served?.availability == "DoNotDisturb")
            #expect(served?.activity == "Presenting")
            #expect((served?.sequenceNumber ?? "") > before.sequenceNumber)
            let single = try await Self.get(client, "/v1.0/communications/presences/\(id)", token: token)
            #expect(single.object["activity"] as? String == "Presenting")
            let byUser = try await Self.get(client, "/v1.0/users/\(id)/presence", token: token)
            #expect(byUser.object["availability"] as? String == "DoNotDisturb")

            // The user's preferred presence wins over the application's session.
            let preferred = try await Self.post(
                client, id, "setUserPreferredPresence", ["availability": "Offline", "activity": "OffWork"], token: token
            )
            #expect(preferred.status == 200)
            #expect(simulator.currentState(for: id)?.activity == "OffWork")
            _ = try await Self.post(client, id, "clearUserPreferredPresence", [:], token: token)
            #expect(simulator.currentState(for: id)?.activity == "Presenting")

            let cleared = try await Self.post(client, id, "clearPresence", ["sessionId": session], token: token)
            #expect(cleared.status == 200)
            let after = try #require(simulator.currentState(for: id))
            #expect(after.hasSameContent(as: before))
            #expect(after.sequenceNumber > (served?.sequenceNumber ?? ""))
        }
    }

    @Test("setStatusMessage validates its body and shows the text in batch and single reads until cleared")
    func statusMessage() async throws {
        try await withSimulator(.testing(userCount: 5, changeProbability: 0)) { simulator, client in
            let token = try await client.accessToken()
            let id = simulator.userIDs[1]
            let text = "Back at 3 \"pm\" ☕\nline two"
            let badZone = try await Self.post(
                client, id, "setStatusMessage",
                [
                    "statusMessage": [
                        "message": ["content": "x", "contentType": "text"],
                        "expiryDateTime": ["dateTime": "2099-12-01T17:00:00", "timeZone": "Mars/Olympus"],
                    ]
                ],
                token: token)
            #expect(badZone.status == 400)
            let set = try await Self.post(
                client, id, "setStatusMessage",
                [
                    "statusMessage": [
                        "message": ["content": text, "contentType": "text"],
                        "expiryDateTime": ["dateTime": "2099-12-01T17:00:00", "timeZone": "Europe/Paris"],
                    ]
                ],
                token: token)
            #expect(set.status == 200)
            let batch = try await client.presences(simulator.userIDs, token: token)
            #expect(batch.presences.count == 5)
            #expect(presencesByID(batch)[id]?.statusMessage == text)
            let single = try await Self.get(client, "/v1.0/users/\(id)/presence", token: token)
            #expect(simulatedPresence(from: single.object)?.statusMessage == text)
            _ = try await Self.post(
                client, id, "setStatusMessage", ["statusMessage": ["message": ["content": "", "contentType": "text"]]],
                token: token)
            let after = presencesByID(try await client.presences([id], token: token))[id]
            #expect(after?.statusMessage != text)
        }
    }
}
