import Foundation
import GraphSimulator
import Testing

@Suite("getPresencesByUserId")
struct PresenceEndpointTests {
    @Test("answers one Graph-shaped presence per requested id, matched by id")
    func answersBatch() async throws {
        try await withSimulator { simulator, client in
            let ids = Array(simulator.userIDs.prefix(40))
            let answer = try await client.presences(ids, token: try await client.accessToken())
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"]?.hasPrefix("application/json") == true)
            #expect(
                (answer.object["@odata.context"] as? String)?.hasSuffix("#Collection(microsoft.graph.presence)") == true
            )
            #expect(Set(answer.presences.compactMap { $0["id"] as? String }) == Set(ids))
            #expect(answer.presences.count == ids.count)
            for object in answer.presences {
                let id = try #require(object["id"] as? String)
                #expect(
                    Set(object.keys) == [
                        "id", "availability", "activity", "statusMessage", "outOfOfficeSettings", "sequenceNumber",
                        "workLocation",
                    ])
                let outOfOffice = try #require(object["outOfOfficeSettings"] as? [String: Any])
                #expect(outOfOffice["isOutOfOffice"] is Bool)
                #expect(object["statusMessage"] is NSNull || (object["statusMessage"] as? [String: Any]) != nil)
                if let status = object["statusMessage"] as? [String: Any] {
                    let message = try #require(status["message"] as? [String: Any])
                    #expect(message["contentType"] as? String == "text")
                    #expect(status["publishedDateTime"] == nil)
                }
                if let location = object["workLocation"] as? [String: Any] {
                    #expect(location["placeId"] is NSNull)
                    #expect(
                        ["office", "remote", "timeOff", "unknown"].contains(location["workLocationType"] as? String))
                }
                #expect(simulatedPresence(from: object) == simulator.currentState(for: id))
            }
            #expect(simulator.statistics.usersServed == ids.count)
        }
    }

    @Test("answers duplicated ids once")
    func duplicates() async throws {
        try await withSimulator { simulator, client in
            let ids = Array(simulator.userIDs.prefix(3))
            let answer = try await client.presences(
                ids + ids + [ids[0].uppercased()], token: try await client.accessToken())
            #expect(answer.status == 200)
            #expect(answer.presences.compactMap { $0["id"] as? String }.sorted() == ids.sorted())
        }
    }

    static let unknownID = "6f0e7a3c-0000-4000-8000-00000000dead"

    @Test("omits unknown ids by default")
    func unknownOmitted() async throws {
        try await withSimulator { simulator, client in
            let ids = [simulator.userIDs[0], Self.unknownID]
            let answer = try await client.presences(ids, token: try await client.accessToken())
            #expect(answer.status == 200)
            #expect(answer.presences.compactMap { $0["id"] as? String } == [simulator.userIDs[0]])
        }
    }

    @Test("answers PresenceUnknown for unknown ids when configured")
    func unknownAsPresenceUnknown() async throws {
        try await withSimulator(.testing(unknownIDBehaviour: .presenceUnknown)) { simulator, client in
            let ids = [simulator.userIDs[0], Self.unknownID, Self.unknownID]
            let answer = try await client.presences(ids, token: try await client.accessToken())
            #expect(answer.status == 200)
            #expect(answer.presences.count == 2)
            let unknown = try #require(answer.presences.first { $0["id"] as? String == Self.unknownID })
            #expect(unknown["availability"] as? String == "PresenceUnknown")
            #expect(unknown["activity"] as? String == "PresenceUnknown")
        }
    }

    @Test("rejects the whole request for unknown ids when configured")
    func unknownRejected() async throws {
        try await withSimulator(.testing(unknownIDBehaviour: .rejectRequest)) { simulator, client in
            let answer = try await client.presences(
                [simulator.userIDs[0], Self.unknownID], token: try await client.accessToken())
            #expect(answer.status == 400)
            #expect(answer.graphError["code"] as? String == "BadRequest")
            #expect((answer.graphError["message"] as? String)?.contains(Self.unknownID) == true)
            #expect(simulator.statistics.usersServed == 0)
        }
    }

    @Test("accepts 650 ids and rejects 651 with a Graph 400")
    func idLimit() async throws {
        try await withSimulator(.testing(userCount: 700)) { simulator, client in
            let token = try await client.accessToken()
            let accepted = try await client.presences(Array(simulator.userIDs.prefix(650)), token: token)
            #expect(accepted.status == 200)
            #expect(accepted.presences.count == 650)
            let rejected = try await client.presences(Array(simulator.userIDs.prefix(651)), token: token)
            #expect(rejected.status == 400)
            #expect(rejected.graphError["code"] as? String == "InvalidRequest")
            #expect((rejected.graphError["message"] as? String)?.contains("650") == true)
            let inner = try #require(rejected.graphError["innerError"] as? [String: Any])
            #expect(inner["request-id"] as? String == rejected.headers["request-id"])
        }
    }

    @Test(
        "rejects a body that is not a list of GUIDs with a Graph 400",
        arguments: [
            "not json", "[1,2]", "{}", "{\"ids\":[]}", "{\"ids\":\"x\"}", "{\"ids\":[42]}", "{\"ids\":[null]}",
            "{\"ids\":[\"someone@example.com\"]}",
        ]
    )
    func badBodies(_ body: String) async throws {
        try await withSimulator { simulator, client in
            let answer = try await client.presences(rawBody: Data(body.utf8), token: try await client.accessToken())
            #expect(answer.status == 400)
            #expect(["BadRequest", "InvalidRequest"].contains(answer.graphError["code"] as? String))
            #expect((answer.graphError["message"] as? String)?.isEmpty == false)
            #expect(simulator.statistics.rejectedRequests == 1)
        }
    }

    @Test("sets request-id on every answer and echoes client-request-id")
    func requestIDs() async throws {
        try await withSimulator { simulator, client in
            let clientRequestID = "d6b5a0f1-2c3d-4e5f-8a9b-0c1d2e3f4a5b"
            let answer = try await client.presences(
                [simulator.userIDs[0]], token: try await client.accessToken(),
                headers: ["client-request-id": clientRequestID])
            #expect(UUID(uuidString: answer.headers["request-id"] ?? "") != nil)
            #expect(answer.headers["client-request-id"] == clientRequestID)
            let unauthorised = try await client.presences([simulator.userIDs[0]], token: nil)
            #expect(UUID(uuidString: unauthorised.headers["request-id"] ?? "") != nil)
        }
    }

    @Test("shuffles the answer order unless told not to")
    func answerOrder() async throws {
        for shuffle in [true, false] {
            try await withSimulator(.testing(shuffleResults: shuffle)) { simulator, client in
                let ids = simulator.userIDs
                let answer = try await client.presences(ids, token: try await client.accessToken())
                let order = answer.presences.compactMap { $0["id"] as? String }
                #expect(Set(order) == Set(ids))
                #expect((order == ids) == !shuffle)
            }
        }
    }
}
