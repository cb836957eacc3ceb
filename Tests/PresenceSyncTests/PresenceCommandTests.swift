import Foundation
import GraphSimulator
import PresenceSync
import TestSupport
import Testing

/// `presence-sync presence …` as a real process against the simulated tenant over loopback.
@Suite("presence commands", .serialized)
struct PresenceCommandTests {
    @Test("presence get resolves a UPN and prints the served presence; --json prints Graph's object")
    func get() async throws {
        let fixture = try await OperatorFixture(users: 12, changeProbability: 0)
        defer { Task { await fixture.stop() } }
        let id = fixture.simulator.userIDs[2]
        let expected = try #require(fixture.simulator.currentState(for: id))
        let text = try await fixture.run(["presence", "get", "user00002@simulated.example", "--config", fixture.config])
        #expect(text.status == 0, "\(text.standardError)")
        #expect(text.standardOutput.contains("user           \(id) (user00002@simulated.example)"))
        #expect(text.standardOutput.contains("availability   \(expected.availability)\n"))
        #expect(text.standardOutput.contains("activity       \(expected.activity)\n"))
        let json = try await fixture.run(["presence", "get", id, "--json", "--config", fixture.config])
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
        #expect(object?["id"] as? String == id)
        #expect(object?["sequenceNumber"] as? String == expected.sequenceNumber)
    }

    @Test("wrong pairs, durations and expiries are refused before any request, listing what is allowed")
    func rejectedBeforeAnyRequest() async throws {
        let fixture = try await OperatorFixture(users: 3, changeProbability: 0)
        defer { Task { await fixture.stop() } }
        let user = "user00001@simulated.example"
        let cases: [([String], String)] = [
            (
                ["set", user, "--availability", "Busy", "--activity", "InAMeeting"],
                "Busy/InACall, Busy/InAConferenceCall"
            ),
            (["set", user, "--availability", "Away", "--activity", "Away", "--expires", "PT4M"], "PT5M to PT4H"),
            (["set", user, "--availability", "Away", "--activity", "Away", "--expires", "PT4H30M"], "PT5M to PT4H"),
            (["set", user, "--availability", "Away", "--activity", "Away", "--expires", "1 hour"], "ISO 8601"),
            (["set-preferred", user, "--availability", "Offline", "--activity", "Offline"], "Offline/OffWork"),
            (["set-message", user, "hello", "--expires", "2020-01-01T08:00"], "in the past"),
            (["set-message", user, "hello", "--expires", "tomorrow"], "2026-12-01T17:00"),
            (["set-message", user], "--clear"),
        ]
        for (arguments, hint) in cases {
            let result = try await fixture.run(["presence"] + arguments + ["--config", fixture.config])
            #expect(result.status == 64, "\(arguments) must be a usage error")
            #expect(result.standardError.contains(hint), "\(arguments): \(result.standardError)")
        }
        #expect(fixture.simulator.statistics.tokenRequests == 0, "no sign-in may happen for a refused command")
        #expect(fixture.simulator.presenceAPIRequests == 0, "no Graph request may be sent for a refused command")
    }

    @Test("Graph errors come back as one line with the code and request-id, and exit status 1")
    func graphErrors() async throws {
        let fixture = try await OperatorFixture(users: 3, changeProbability: 0)
        defer { Task { await fixture.stop() } }
        let clear = try await fixture.run([
            "presence", "clear", "user00001@simulated.example", "--config", fixture.config,
        ])
        #expect(clear.status == 1)
        #expect(clear.standardError.contains("has no presence session of this application"))
        #expect(clear.standardError.contains("404 NotFound [request-id "))
        #expect(clear.standardError.split(separator: "\n").count == 1)
        let unknown = try await fixture.run(
            [
                "presence", "set", "user00999@simulated.example", "--availability", "Away", "--activity", "Away",
                "--config", fixture.config,
            ])
        #expect(unknown.status == 1)
        #expect(unknown.standardError.contains("no user 'user00999@simulated.example' in the directory [request-id "))
        let ghost = try await fixture.run(
            ["presence", "clear-preferred", "00000000-0000-4000-8000-00000000beef", "--config", fixture.config])
        #expect(ghost.status == 1)
        #expect(ghost.standardError.contains("Graph answered HTTP 404 ResourceNotFound"))
        #expect(!ghost.standardError.contains(fixture.settings.clientSecret))
    }

    @Test("a presence set, a status message and a clear each show up in the history after the next poll")
    func setThenPollShowsUpInHistory() async throws {
        let fixture = try await OperatorFixture(users: 8, changeProbability: 0)
        defer { Task { await fixture.stop() } }
        try await fixture.poll(cycles: 1)
        let ids = fixture.simulator.userIDs
        let index = try #require(
            ids.indices.first { fixture.simulator.currentState(for: ids[$0])?.activity != "InAConferenceCall" })
        let id = ids[index]
        let upn = try #require(fixture.simulator.userPrincipalName(for: id))
        let original = try #require(try HistoryReader(path: fixture.database).states(of: id).last)

        let set = try await fixture.run(
            [
                "presence", "set", upn, "--availability", "Busy", "--activity", "InAConferenceCall", "--expires",
                "PT1H",
                "--config", fixture.config,
            ])
        #expect(set.status == 0, "\(set.standardError)")
        #expect(set.standardOutput.contains("set Busy/InAConferenceCall for \(upn)"))
        try await fixture.poll(cycles: 1)
        var states = try HistoryReader(path: fixture.database).states(of: id)
        #expect(states.count == 2)
        #expect(states.last?.availability == "Busy")
        #expect(states.last?.activity == "InAConferenceCall")

        let history = try await fixture.run(["history", upn, "--config", fixture.config, "--json"])
        #expect(history.status == 0, "\(history.standardError)")
        let rows = history.jsonRows
        #expect(rows.count == 2)
        #expect(rows.last?["activity"] as? String == "InAConferenceCall")
        #expect(rows.last?["valid_to"] is NSNull)
        #expect(rows.first?["valid_to"] as? String == rows.last?["valid_from"] as? String)

        let message = "Workshop until 17:00 — \"room 4\""
        let setMessage = try await fixture.run(
            [
                "presence", "set-message", id, message, "--expires", "2099-12-01T17:00", "--time-zone", "Europe/Paris",
                "--config", fixture.config,
            ])
        #expect(setMessage.status == 0, "\(setMessage.standardError)")
        try await fixture.poll(cycles: 1)
        states = try HistoryReader(path: fixture.database).states(of: id)
        #expect(states.last?.statusMessage == message)

        let clear = try await fixture.run(["presence", "clear", upn, "--config", fixture.config])
        #expect(clear.status == 0, "\(clear.standardError)")
        let clearMessage = try await fixture.run([
            "presence", "set-message", upn, "--clear", "--config", fixture.config,
        ])
        #expect(clearMessage.status == 0, "\(clearMessage.standardError)")
        try await fixture.poll(cycles: 1)
        states = try HistoryReader(path: fixture.database).states(of: id)
        #expect(states.last == original, "after clearing, the user's own presence shows again")
        #expect(try HistoryReader(path: fixture.database).invariantViolations() == [])
    }

    @Test("set-preferred wins over the session and clear-preferred removes it")
    func preferred() async throws {
        let fixture = try await OperatorFixture(users: 4, changeProbability: 0)
        defer { Task { await fixture.stop() } }
        let id = fixture.simulator.userIDs[1]
        let before = try #require(fixture.simulator.currentState(for: id))
        let set = try await fixture.run(
            [
                "presence", "set-preferred", id, "--availability", "berightback", "--activity", "BeRightBack",
                "--expires", "PT8H", "--config", fixture.config,
            ])
        #expect(set.status == 0, "\(set.standardError)")
        #expect(fixture.simulator.currentState(for: id)?.availability == "BeRightBack")
        let get = try await fixture.run(["presence", "get", id, "--config", fixture.config])
        #expect(get.standardOutput.contains("availability   BeRightBack"))
        let clear = try await fixture.run(["presence", "clear-preferred", id, "--config", fixture.config])
        #expect(clear.status == 0)
        #expect(fixture.simulator.currentState(for: id)?.hasSameContent(as: before) == true)
    }
}
