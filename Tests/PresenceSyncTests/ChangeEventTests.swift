import Foundation
import PresenceSync
import Testing

@Suite("Change events: CloudEvents 1.0 structured JSON, one line each")
struct ChangeEventTests {
    static let nasty = "Quote \" backslash \\ newline \n tab \t bell \u{07} 日本語 🎉 <b>x</b>"

    static func change(previous: PresenceState?) -> ChangeRecord {
        ChangeRecord(
            historyID: 42, userID: "fa8bf3dc-eca7-46b7-bad1-db199b62afc3", previous: previous,
            previousSince: previous == nil ? nil : Timestamp(millisecondsSinceEpoch: 1_000),
            current: PresenceState(
                availability: "Busy", activity: "InAMeeting", statusMessage: nasty, isOutOfOffice: true,
                outOfOfficeMessage: "Away until Monday", workLocationType: "remote"),
            sequenceNumber: "C2", changedFields: [.availability, .activity],
            since: Timestamp(millisecondsSinceEpoch: 1_764_403_200_123))
    }

    func object(_ event: ChangeEvent) throws -> [String: Any] {
        let bytes = event.json()
        #expect(!bytes.contains(UInt8(ascii: "\n")), "an event must be a single line")
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test("the envelope carries the CloudEvents attributes, with a stable id derived from the history row")
    func envelope() throws {
        let event = ChangeEvent(change: Self.change(previous: nil), source: "urn:test", storeInstanceID: "inst")
        let json = try object(event)
        #expect(json["specversion"] as? String == "1.0")
        #expect(json["id"] as? String == "inst:42")
        #expect(json["source"] as? String == "urn:test")
        #expect(json["type"] as? String == ChangeEvent.type)
        #expect(json["subject"] as? String == "fa8bf3dc-eca7-46b7-bad1-db199b62afc3")
        #expect(json["time"] as? String == "2025-11-29T08:00:00.123Z")
        #expect(json["datacontenttype"] as? String == "application/json")
        let again = ChangeEvent(change: Self.change(previous: nil), source: "urn:test", storeInstanceID: "inst")
        #expect(again.json() == event.json())
    }

    @Test("a snapshot event has its own type and id; a replayed change keeps its id and says it is replayed")
    func origins() throws {
        var snapshot = Self.change(previous: nil)
        snapshot.origin = .snapshot(asOf: 1000)
        let snapshotJSON = try object(ChangeEvent(change: snapshot, source: "urn:test", storeInstanceID: "inst"))
        #expect(snapshotJSON["id"] as? String == "inst:snapshot:1000:42")
        #expect(snapshotJSON["type"] as? String == "io.presence-sync.presence.snapshot.v1")
        #expect(snapshotJSON["replayed"] == nil)
        var replayed = Self.change(previous: nil)
        replayed.origin = .replay(request: 7)
        let replayedEvent = ChangeEvent(change: replayed, source: "urn:test", storeInstanceID: "inst")
        let replayedJSON = try object(replayedEvent)
        #expect(replayedJSON["id"] as? String == "inst:42" && replayedJSON["type"] as? String == ChangeEvent.type)
        #expect(replayedJSON["replayed"] as? Bool == true)
        // Everything else is the live event's, byte for byte, but for the attribute.
        let live = ChangeEvent(change: Self.change(previous: nil), source: "urn:test", storeInstanceID: "inst")
        let withoutAttribute = String(decoding: replayedEvent.json(), as: UTF8.self)
            .replacingOccurrences(of: #","replayed":true"#, with: "")
        #expect(withoutAttribute == String(decoding: live.json(), as: UTF8.self))
    }

    @Test("data holds the user, previous (null at first), current and the changed fields; text survives escaping")
    func data() throws {
        let first = try object(ChangeEvent(change: Self.change(previous: nil), source: "s", storeInstanceID: "i"))
        let data = try #require(first["data"] as? [String: Any])
        #expect(data["userId"] as? String == "fa8bf3dc-eca7-46b7-bad1-db199b62afc3")
        #expect(data["previous"] is NSNull)
        let current = try #require(data["current"] as? [String: Any])
        #expect(current["statusMessage"] as? String == Self.nasty)
        #expect(current["isOutOfOffice"] as? Bool == true)
        #expect(current["since"] as? String == "2025-11-29T08:00:00.123Z")
        #expect(current["sequenceNumber"] as? String == "C2")
        #expect(data["changedFields"] as? [String] == ["availability", "activity"])

        let previous = PresenceState(availability: "Available", activity: "Available")
        let later = try object(ChangeEvent(change: Self.change(previous: previous), source: "s", storeInstanceID: "i"))
        let earlier = try #require((later["data"] as? [String: Any])?["previous"] as? [String: Any])
        #expect(earlier["availability"] as? String == "Available")
        #expect(earlier["statusMessage"] is NSNull)
        #expect(earlier["since"] as? String == "1970-01-01T00:00:01.000Z")
    }
}
