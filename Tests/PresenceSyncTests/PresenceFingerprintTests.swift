import Testing

@testable import PresenceSync

/// The hot path's pieces: object ids as 128-bit keys, the fingerprint of an answer's compared fields, and the table
/// the store keeps them in.
@Suite("Fingerprints: what makes an answer 'unchanged' on the hot path")
struct PresenceFingerprintTests {
    static let id = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"

    /// The scanned presences of `{"value":[objects...]}`.
    static func scan(_ objects: [String]) throws -> (presences: [ScannedPresence], omissions: OmissionCounts) {
        let text = #"{"value":[\#(objects.joined(separator: ","))]}"#
        var presences: [ScannedPresence] = []
        var omissions = OmissionCounts()
        try Array(text.utf8).withUnsafeBufferPointer { bytes throws(GraphError) in
            try PresenceAnswer.scan(bytes, requestID: nil, into: &presences, omissions: &omissions)
        }
        return (presences, omissions)
    }

    static func fingerprint(_ members: String) throws -> UInt64 {
        try #require(try scan(["{\"id\":\"\(id)\",\(members)}"]).presences.first).fingerprint
    }

    static let full =
        #""availability":"Busy","activity":"InACall","statusMessage":{"message":{"content":"Back at 3","contentType":"text"}},"#
        + #""outOfOfficeSettings":{"message":"Away all week","isOutOfOffice":true},"#
        + #""workLocation":{"workLocationType":"office","placeId":null},"sequenceNumber":"C1""#

    // MARK: Object ids

    @Test("an id parses the same in upper and lower case and prints back in lower case")
    func keyCase() throws {
        let lower = try #require(UserKey(Self.id))
        #expect(UserKey(Self.id.uppercased()) == lower)
        #expect(lower.description == Self.id)
        #expect(lower.high == 0xfa8b_f3dc_eca7_46b7 && lower.low == 0xbad1_db19_9b62_afc3)
    }

    @Test(
        "anything but a canonical GUID is refused",
        arguments: [
            "{fa8bf3dc-eca7-46b7-bad1-db199b62afc3}", "fa8bf3dceca746b7bad1db199b62afc3",
            "fa8bf3dc-eca7-46b7-bad1-db199b62afc", "fa8bf3dc-eca7-46b7-bad1-db199b62afc3a",
            "fa8bf3dc_eca7-46b7-bad1-db199b62afc3", "fa8bf3dc-eca7-46b7-bad1-db199b62afcg", "", "user@example.com",
            "fa8bf3dc-eca7-46b7-bad1-db199b62af\u{e9}",
        ])
    func keyRefusals(_ text: String) {
        #expect(UserKey(text) == nil)
    }

    // MARK: Fingerprints

    @Test("every compared field changes the fingerprint")
    func everyFieldCounts() throws {
        let base = try Self.fingerprint(Self.full)
        let variants = [
            Self.full.replacingOccurrences(of: #""availability":"Busy""#, with: #""availability":"Away""#),
            Self.full.replacingOccurrences(of: #""activity":"InACall""#, with: #""activity":"InAMeeting""#),
            Self.full.replacingOccurrences(of: "Back at 3", with: "Back at 4"),
            Self.full.replacingOccurrences(of: #""isOutOfOffice":true"#, with: #""isOutOfOffice":false"#),
            Self.full.replacingOccurrences(of: "Away all week", with: "Away all month"),
            Self.full.replacingOccurrences(of: #""workLocationType":"office""#, with: #""workLocationType":"remote""#),
        ]
        var seen: Set<UInt64> = [base]
        for variant in variants {
            #expect(variant != Self.full)
            #expect(seen.insert(try Self.fingerprint(variant)).inserted, "\(variant)")
        }
    }

    @Test("sequenceNumber, unknown members, member order and whitespace do not change the fingerprint")
    func whatDoesNotCount() throws {
        let base = try Self.fingerprint(Self.full)
        #expect(try Self.fingerprint(Self.full.replacingOccurrences(of: "\"C1\"", with: "\"C9\"")) == base)
        #expect(try Self.fingerprint(Self.full + #","extra":{"nested":[1,2,{"x":null}]}"#) == base)
        let members = [
            #""workLocation":{"placeId":null,"workLocationType":"office"}"#,
            #""outOfOfficeSettings":{"isOutOfOffice":true,"message":"Away all week"}"#,
            #""activity":"InACall""#, #""availability":"Busy""#,
            #""statusMessage":{"message":{"contentType":"text","content":"Back at 3"}}"#,
        ]
        #expect(try Self.fingerprint(members.joined(separator: " ,\n ")) == base)
    }

    @Test("escaped and unescaped spellings of the same text give the same fingerprint")
    func escapes() throws {
        let plain = try Self.fingerprint(
            #""availability":"Busy","activity":"Busy","statusMessage":{"message":{"content":"Caf\#u{e9} / \"ok\""}}"#)
        let escaped = try Self.fingerprint(
            #""availability":"B\u0075sy","activity":"Busy","statusMessage":{"message":{"content":"Caf\u00e9 \/ \"ok\""}}"#
        )
        #expect(plain == escaped)
    }

    @Test("a field left out, a null and a value are three different answers")
    func omittedNullValue() throws {
        let required = #""availability":"Busy","activity":"Busy""#
        let omitted = try Self.fingerprint(required)
        let null = try Self.fingerprint(required + #","statusMessage":null"#)
        let innerNull = try Self.fingerprint(required + #","statusMessage":{"message":null}"#)
        let value = try Self.fingerprint(required + #","statusMessage":{"message":{"content":"x"}}"#)
        let emptyObject = try Self.fingerprint(required + #","statusMessage":{}"#)
        #expect(Set([omitted, null, value]).count == 3)
        #expect(null == innerNull, "a null at any level clears")
        #expect(emptyObject == omitted, "an object without the message leaves it out")
    }

    @Test("omissions are counted per field; the decoded observation names them and keeps no value for them")
    func omissionsCounted() throws {
        let required = #"{"id":"\#(Self.id)","availability":"Busy","activity":"Busy""#
        let objects = [
            required + "}",
            required + #","statusMessage":null,"outOfOfficeSettings":{"isOutOfOffice":true},"workLocation":null}"#,
        ]
        let (presences, omissions) = try Self.scan(objects)
        #expect(omissions.statusMessage == 1 && omissions.isOutOfOffice == 1)
        #expect(omissions.outOfOfficeMessage == 2 && omissions.workLocationType == 1)
        let text = #"{"value":[\#(objects.joined(separator: ","))]}"#
        let observations = Array(text.utf8).withUnsafeBufferPointer { bytes in
            presences.map { PresenceAnswer.decode(object: $0, in: bytes, userID: Self.id) }
        }
        #expect(observations[0].omitted == [.statusMessage, .isOutOfOffice, .outOfOfficeMessage, .workLocationType])
        #expect(observations[1].omitted == [.outOfOfficeMessage])
        #expect(observations[1].state.isOutOfOffice && observations[1].state.statusMessage == nil)
        #expect(observations.map(\.fingerprint) == presences.map(\.fingerprint))
    }

    @Test("the whole-answer decoder and the scanner agree on a full object")
    func decodeAgrees() throws {
        let text = #"{"value":[{"id":"\#(Self.id.uppercased())",\#(Self.full)}]}"#
        let observation = try #require(try PresenceAnswer.decode(Array(text.utf8), requestID: nil).first)
        #expect(observation.userID == Self.id)
        #expect(
            observation.state
                == PresenceState(
                    availability: "Busy", activity: "InACall", statusMessage: "Back at 3", isOutOfOffice: true,
                    outOfOfficeMessage: "Away all week", workLocationType: "office"))
        #expect(observation.omitted.isEmpty && observation.sequenceNumber == "C1")
        #expect(observation.fingerprint == (try Self.fingerprint(Self.full)))
    }

    // MARK: The table

    @Test("the fingerprint table agrees with a Dictionary through growth, updates and forgetting")
    func tableAgreesWithDictionary() {
        var table = FingerprintTable()
        var model: [UserKey: UInt64] = [:]
        var random: UInt64 = 42
        for step in 1...20_000 {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let key = UserKey(high: (random >> 40) % 6_000, low: 7)
            let fingerprint: UInt64 = step % 7 == 0 ? 0 : UInt64(step)
            table.set(key, fingerprint)
            if fingerprint != 0 || model[key] != nil { model[key] = fingerprint }
        }
        for (key, fingerprint) in model { #expect(table.fingerprint(of: key) == fingerprint) }
        #expect(table.fingerprint(of: UserKey(high: 6_001, low: 7)) == 0)
        #expect(table.count == model.count)
        table.forgetAll()
        #expect(model.keys.allSatisfy { table.fingerprint(of: $0) == 0 })
    }

    @Test("100,000 users fit in 131,072 slots without growing")
    func reservedCapacityHolds() {
        var table = FingerprintTable()
        table.reserveCapacity(100_000)
        #expect(table.slotCount == 131_072)
        for number in 0..<100_000 { table.set(UserKey(high: UInt64(number) &* 0x9e37_79b9, low: 1), 1) }
        #expect(table.slotCount == 131_072 && table.count == 100_000)
    }
}
