import PresenceSync
import Testing

/// The checks made before any presence write is sent, and the UPN path encoding.
@Suite("Presence write rules")
struct PresenceRulesTests {
    @Test(
        "setPresence accepts exactly the documented pairs, in any case, and sends Graph's spelling",
        arguments: [
            ("available", "AVAILABLE", "Available/Available"), ("Busy", "InACall", "Busy/InACall"),
            ("busy", "inaconferencecall", "Busy/InAConferenceCall"), ("Away", "Away", "Away/Away"),
            ("DoNotDisturb", "Presenting", "DoNotDisturb/Presenting"),
        ])
    func sessionPairs(availability: String, activity: String, expected: String) throws {
        let pair = try PresenceRules.pair(
            availability: availability, activity: activity, allowed: PresenceRules.sessionPairs, api: "setPresence")
        #expect(pair.description == expected)
    }

    @Test("a wrong pair is refused with the allowed pairs listed")
    func wrongPair() {
        #expect(throws: PresenceRuleError.self) {
            try PresenceRules.pair(
                availability: "Busy", activity: "InAMeeting", allowed: PresenceRules.sessionPairs, api: "setPresence")
        }
        do {
            _ = try PresenceRules.pair(
                availability: "Offline", activity: "Offline", allowed: PresenceRules.preferredPairs,
                api: "setUserPreferredPresence")
            Issue.record("Offline/Offline is not a preferred pair")
        } catch {
            #expect(error.description.contains("Offline/OffWork"))
            #expect(error.description.contains("BeRightBack/BeRightBack"))
        }
    }

    @Test(
        "session durations: PT5M to PT4H, normalized",
        arguments: [
            ("PT5M", "PT5M"), ("pt1h", "PT1H"), ("PT90M", "PT1H30M"), ("PT4H", "PT4H"), ("PT300S", "PT5M"),
        ])
    func sessionDurations(text: String, normalized: String) throws {
        #expect(try PresenceRules.sessionDuration(text) == normalized)
    }

    @Test(
        "durations outside PT5M..PT4H or not ISO 8601 are refused",
        arguments: ["PT4M59S", "PT4H1S", "P1D", "1h", "PT", "P", "PT1.5H"])
    func badSessionDurations(text: String) {
        #expect(throws: PresenceRuleError.self) { try PresenceRules.sessionDuration(text) }
    }

    @Test("ISO 8601 durations read days, hours, minutes and seconds")
    func isoDurations() throws {
        #expect(ISODuration.seconds("P1DT2H3M4S") == 93_784)
        #expect(ISODuration.seconds("P7D") == 604_800)
        #expect(ISODuration.seconds("P1Y") == nil)
        #expect(ISODuration.text(seconds: 93_784) == "P1DT2H3M4S")
        #expect(ISODuration.text(seconds: 0) == "PT0S")
        #expect(try PresenceRules.preferredDuration("P1D") == "P1D")
        #expect(throws: PresenceRuleError.self) { try PresenceRules.preferredDuration("PT0S") }
    }

    @Test("UPNs are encoded for the users path; a leading $ uses the quoted form")
    func upnPaths() {
        #expect(UserResolver.path(forUPN: "adele@contoso.com") == "/users/adele@contoso.com?$select=id")
        #expect(UserResolver.path(forUPN: "a#b@contoso.com") == "/users/a%23b@contoso.com?$select=id")
        #expect(UserResolver.path(forUPN: "$x@contoso.com") == "/users('$x@contoso.com')?$select=id")
        #expect(UserResolver.path(forUPN: "$o'neil@contoso.com") == "/users('$o''neil@contoso.com')?$select=id")
        #expect(UserResolver.path(forUPN: "a/b?c@x.com") == "/users/a%2Fb%3Fc@x.com?$select=id")
        #expect(
            UserReference("FA8BF3DC-ECA7-46B7-BAD1-DB199B62AFC3") == .objectID("fa8bf3dc-eca7-46b7-bad1-db199b62afc3"))
        #expect(UserReference("adele@contoso.com") == .userPrincipalName("adele@contoso.com"))
    }
}
