import Foundation
import GraphSimulator
import Testing

/// Setting answer shortening up from outside (`/_simulator/shortening`) and in process, and single-user reads.
@Suite("Shortening control and single-user reads")
struct ShorteningControlTests {
    static let json = ["Content-Type": "application/json"]

    @Test("PUT /_simulator/shortening puts it in force, GET shows it, DELETE turns it off")
    func putGetDelete() async throws {
        try await withSimulator(.testing(userCount: 20)) { simulator, client in
            let token = try await client.accessToken()
            #expect(try await client.send("GET", "/_simulator/shortening").text == "null")
            let body = #"{"fields":["statusMessage","workLocation"],"userFraction":1,"answerFraction":1}"#
            let put = try await client.send("PUT", "/_simulator/shortening", headers: Self.json, body: Data(body.utf8))
            #expect(put.status == 204)
            let expected = AnswerShortening(
                fields: [.statusMessage, .workLocation], userFraction: 1, answerFraction: 1)
            #expect(simulator.shortening == expected)
            let shown = try await client.send("GET", "/_simulator/shortening")
            #expect(try JSONDecoder().decode(AnswerShortening.self, from: shown.body) == expected)
            #expect(shown.text.contains(#""fields":["statusMessage","workLocation"]"#))

            let shortened = try await client.presences(simulator.userIDs, token: token)
            #expect(shortened.presences.count == 20)
            for object in shortened.presences {
                #expect(absentFields(object) == [.statusMessage, .workLocation])
            }
            #expect(try await client.send("DELETE", "/_simulator/shortening").status == 204)
            #expect(simulator.shortening == nil)
            #expect(try await client.send("GET", "/_simulator/shortening").text == "null")
            let complete = try await client.presences(simulator.userIDs, token: token)
            #expect(complete.presences.count == 20)
            for object in complete.presences {
                #expect(absentFields(object).isEmpty)
            }
        }
    }

    @Test(
        "PUT /_simulator/shortening refuses a bad body with 400 naming the problem, and keeps the setting",
        arguments: [
            (#"{"fields":["availability"],"userFraction":0.3,"answerFraction":0.05}"#, "'availability'"),
            (#"{"fields":["statusMessage","mood"],"userFraction":0.3,"answerFraction":0.05}"#, "'mood'"),
            (#"{"fields":["statusMessage"],"userFraction":1.5,"answerFraction":0.05}"#, "'userFraction'"),
            (#"{"fields":["statusMessage"],"userFraction":0.3,"answerFraction":-0.1}"#, "'answerFraction'"),
            (#"{"fields":[],"userFraction":0.3,"answerFraction":0.05}"#, "'fields'"),
            (#"{"userFraction":0.3,"answerFraction":0.05}"#, "'fields' is missing"),
            (#"{"fields":"statusMessage","userFraction":0.3,"answerFraction":0.05}"#, "'fields'"),
            (#"{"fields":["statusMessage"],"userFraction":"0.3","answerFraction":0.05}"#, "'userFraction'"),
            (#"{"fields":["statusMessage"],"userFraction":0.3}"#, "'answerFraction' is missing"),
            ("[]", "not an object"),
            ("not json", "not JSON"),
        ]
    )
    func refusesBadBodies(body: String, problem: String) async throws {
        try await withSimulator { simulator, client in
            let valid = AnswerShortening(fields: [.workLocation], userFraction: 0.5, answerFraction: 0.5)
            try simulator.setShortening(valid)
            let answer = try await client.send(
                "PUT", "/_simulator/shortening", headers: Self.json, body: Data(body.utf8))
            #expect(answer.status == 400)
            let message = try #require(answer.object["error"] as? String)
            #expect(message.contains(problem), "\(message)")
            #expect(simulator.shortening == valid)
        }
    }

    @Test("setShortening checks the setting as the endpoint does")
    func inProcessValidation() throws {
        let simulator = GraphSimulator(configuration: .testing(), logger: quietLogger)
        #expect(throws: GraphSimulatorError.self) {
            try simulator.setShortening(AnswerShortening(fields: [], userFraction: 0.5, answerFraction: 0.5))
        }
        #expect(throws: GraphSimulatorError.self) {
            try simulator.setShortening(
                AnswerShortening(fields: [.workLocation], userFraction: .nan, answerFraction: 1))
        }
        #expect(simulator.shortening == nil)
        let valid = AnswerShortening(fields: [.outOfOfficeSettings], userFraction: 0, answerFraction: 1)
        try simulator.setShortening(valid)
        #expect(simulator.shortening == valid)
        try simulator.setShortening(nil)
        #expect(simulator.shortening == nil)
    }

    @Test("single-user presence reads and objects with a custom status message are shortened alike")
    func singleReadsAndCustomMessages() async throws {
        var configuration = SimulatorConfiguration.testing(userCount: 10, changeProbability: 0)
        configuration.shortening = AnswerShortening(
            fields: [.statusMessage, .workLocation], userFraction: 1, answerFraction: 1)
        try await withSimulator(configuration) { simulator, client in
            let token = try await client.accessToken()
            let id = simulator.userIDs[2]
            for path in ["/v1.0/users/\(id)/presence", "/v1.0/communications/presences/\(id)"] {
                let read = try await PresenceAPIEndpointTests.get(client, path, token: token)
                #expect(read.status == 200)
                #expect(absentFields(read.object) == [.statusMessage, .workLocation])
                #expect(!read.text.contains("\"statusMessage\"") && !read.text.contains("\"workLocation\""))
            }
            let custom = ["statusMessage": ["message": ["content": "Custom words", "contentType": "text"]]]
            let set = try await PresenceAPIEndpointTests.post(client, id, "setStatusMessage", custom, token: token)
            #expect(set.status == 200)
            let batch = try await client.presences([id, simulator.userIDs[3]], token: token)
            #expect(batch.presences.count == 2)
            for object in batch.presences {
                #expect(absentFields(object) == [.statusMessage, .workLocation])
            }
            #expect(!batch.text.contains("Custom words"))

            try simulator.setShortening(nil)
            let read = try await PresenceAPIEndpointTests.get(client, "/v1.0/users/\(id)/presence", token: token)
            #expect(absentFields(read.object).isEmpty)
            let complete = try await client.presences([id], token: token)
            let status = complete.presences.first?["statusMessage"] as? [String: Any]
            #expect((status?["message"] as? [String: Any])?["content"] as? String == "Custom words")
        }
    }
}
