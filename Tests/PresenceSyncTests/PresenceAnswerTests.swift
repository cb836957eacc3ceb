import Foundation
import Testing

@testable import PresenceSync

@Suite("Decoding getPresencesByUserId answers")
struct PresenceAnswerTests {
    static let full = """
        {"value":[{"id":"FA8BF3DC-ECA7-46B7-BAD1-DB199B62AFC3","availability":"Available","activity":"Available",
        "statusMessage":{"message":{"content":"Hey \\"you\\" 日本語 🎉\\nline2","contentType":"text"},
        "publishedDateTime":"2022-10-18T00:07:15.4012511Z",
        "expiryDateTime":{"dateTime":"9999-12-31T23:59:59.9999999","timeZone":"UTC"}},
        "outOfOfficeSettings":{"message":null,"isOutOfOffice":false},"sequenceNumber":"C1_0001",
        "workLocation":{"placeId":null,"source":"manual","workLocationType":"office"},
        "someFutureField":{"nested":[1,2,3]}}]}
        """

    @Test("a full presence object decodes to its state, ids lowercased, unknown fields ignored")
    func fullObject() throws {
        let observations = try PresenceAnswer.decode(Array(Self.full.utf8), requestID: "r1")
        #expect(observations.count == 1)
        let observation = try #require(observations.first)
        #expect(observation.userID == "fa8bf3dc-eca7-46b7-bad1-db199b62afc3")
        #expect(observation.state.availability == "Available")
        #expect(observation.state.statusMessage == "Hey \"you\" 日本語 🎉\nline2")
        #expect(observation.state.isOutOfOffice == false)
        #expect(observation.state.workLocationType == "office")
        #expect(observation.sequenceNumber == "C1_0001")
    }

    @Test("shortened objects (only id, availability, activity) are accepted")
    func shortened() throws {
        let text = #"{"value":[{"id":"a","availability":"Busy","activity":"InAMeeting","statusMessage":null}]}"#
        let observation = try #require(try PresenceAnswer.decode(Array(text.utf8), requestID: nil).first)
        #expect(observation.state == PresenceState(availability: "Busy", activity: "InAMeeting"))
        #expect(observation.sequenceNumber == nil)
    }

    @Test("unknown availability and activity values are kept, never rejected")
    func unknownValues() throws {
        let text = #"{"value":[{"id":"a","availability":"FocusTime","activity":"Commuting"}]}"#
        let observation = try #require(try PresenceAnswer.decode(Array(text.utf8), requestID: nil).first)
        #expect(observation.state.availability == "FocusTime")
        #expect(observation.state.activity == "Commuting")
    }

    @Test(
        "malformed answers are refused with the reason and the request id",
        arguments: [
            ("<html>502 Bad Gateway</html>", "not valid JSON"),
            (#"{"value":[{"id":"a","availability":"Busy","activity":"Busy"},{"id":"b","activ"#, "not valid JSON"),
            (#"{"something":"else"}"#, "value: missing"),
            (#"{"value":[{"id":"a","activity":"Busy"}]}"#, "value[0].availability: missing"),
            (#"{"value":[{"id":7,"availability":"Busy","activity":"Busy"}]}"#, "value[0].id"),
            (#"{"value":{"id":"a"}}"#, "value"),
        ]
    )
    func malformed(body: String, reason: String) {
        do {
            _ = try PresenceAnswer.decode(Array(body.utf8), requestID: "req-42")
            Issue.record("\(body) must be refused")
        } catch {
            guard error.code == .malformedAnswer, let found = error.reason else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(found.contains(reason), "\(found) should mention \(reason)")
            #expect(error.requestID == "req-42")
            #expect(error.description.contains("req-42"))
        }
    }

    @Test("escapes decode: \\u sequences, surrogate pairs, a lone surrogate becomes U+FFFD")
    func escapes() throws {
        let text = #"""
            {"value":[{"id":"a","availability":"Busy","activity":"Busy",
            "statusMessage":{"message":{"content":"caf\u00e9 \ud83c\udf89 \ud800 \"q\" \\ \/ \n\t"}}}]}
            """#
        let observation = try #require(try PresenceAnswer.decode(Array(text.utf8), requestID: nil).first)
        #expect(observation.state.statusMessage == "café 🎉 \u{FFFD} \"q\" \\ / \n\t")
    }

    @Test("keys and values written with escapes mean the same as plain ones; an escaped id is lowercased too")
    func escapedKeysAndValues() throws {
        let text = #"""
            {"value":[{"\u0069d":"\u0046A8B","avail\u0061bility":"In\u0041Meeting","activity":"InAConferenceCall",
            "workLocation":{"workLocationType":"remote"}},
            {"id":"b","availability":"Busy","activity":"InAConferenceCall","workLocation":{"workLocationType":null}}]}
            """#
        let observations = try PresenceAnswer.decode(Array(text.utf8), requestID: nil)
        #expect(observations.map(\.userID) == ["fa8b", "b"])
        #expect(observations[0].state.availability == "InAMeeting")
        #expect(observations[0].state.activity == "InAConferenceCall")
        #expect(observations[0].state.workLocationType == "remote")
        #expect(observations[1].state.workLocationType == nil)
        #expect(observations[1].state == PresenceState(availability: "Busy", activity: "InAConferenceCall"))
    }

    @Test("unknown fields of every JSON type are skipped; null optional objects are accepted")
    func unknownFieldsSkipped() throws {
        let text = #"""
            {"@odata.context":"x","value":[{"n":-1.5e+3,"b":true,"z":null,"arr":[[],{},[1,{"k":[false]}]],
            "id":"A","availability":"Away","activity":"Away","statusMessage":null,"outOfOfficeSettings":null,
            "workLocation":null,"sequenceNumber":null}],"@odata.nextLink":null}
            """#
        let observation = try #require(try PresenceAnswer.decode(Array(text.utf8), requestID: nil).first)
        #expect(observation.state == PresenceState(availability: "Away", activity: "Away"))
    }

    @Test(
        "documents that are not JSON are refused however they break",
        arguments: [
            #"{"value":[]} trailing"#, #"{"value":[],}"#, #"{"value":[1,]}"#, #"{'value':[]}"#,
            "{\"value\":[{\"id\":\"a\u{01}\"}]}", #"{"value":[01x]}"#, #"{"value":[tru]}"#, "",
            String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
            #"{"value":[{"id":"a","availability":"B","activity":"C","x":"\q"}]}"#,
        ]
    )
    func notJSON(body: String) {
        do {
            _ = try PresenceAnswer.decode(Array(body.utf8), requestID: nil)
            Issue.record("\(body) must be refused")
        } catch {
            #expect(error.description.contains("malformed"))
        }
    }

    @Test("an empty value array is a valid answer with no observations")
    func emptyValue() throws {
        #expect(try PresenceAnswer.decode(Array(#"{"value":[]}"#.utf8), requestID: nil).isEmpty)
    }

    @Test("the request body lists the ids as a JSON array")
    func requestBody() throws {
        let buffer = PresenceClient.requestBody(["a", "b"])
        #expect(String(buffer: buffer) == #"{"ids":["a","b"]}"#)
        let object = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: [String]]
        #expect(object?["ids"] == ["a", "b"])
    }

    @Test("form encoding escapes everything but unreserved characters")
    func formEncoding() {
        #expect(FormEncoding.encode([("a b", "x+y/z=&"), ("s", "ü~")]) == "a+b=x%2By%2Fz%3D%26&s=%C3%BC%7E")
    }
}
