import PresenceSync
import Testing

@Suite("Timestamp: ISO-8601 UTC text with milliseconds")
struct TimestampTests {
    @Test(
        "formats known instants exactly",
        arguments: [
            (Int64(0), "1970-01-01T00:00:00.000Z"),
            (Int64(1_764_403_200_123), "2025-11-29T08:00:00.123Z"),
            (Int64(951_782_400_000), "2000-02-29T00:00:00.000Z"),
            (Int64(-1), "1969-12-31T23:59:59.999Z"),
            (Int64(253_402_300_799_999), "9999-12-31T23:59:59.999Z"),
        ]
    )
    func formats(milliseconds: Int64, text: String) {
        #expect(Timestamp(millisecondsSinceEpoch: milliseconds).iso8601 == text)
        #expect(Timestamp(iso8601: text)?.millisecondsSinceEpoch == milliseconds)
    }

    @Test("round-trips every millisecond of a sample of days, and sorts like the instants it names")
    func roundTrip() {
        var previous: String?
        for step in stride(from: Int64(0), to: 4_000_000_000_000, by: 97_654_321_987) {
            let text = Timestamp(millisecondsSinceEpoch: step).iso8601
            #expect(Timestamp(iso8601: text)?.millisecondsSinceEpoch == step)
            if let previous { #expect(previous < text) }
            previous = text
        }
    }

    @Test("parses the variants Graph and SQLite write, and rejects garbage")
    func parsing() {
        #expect(Timestamp(iso8601: "2026-11-29T08:15:02Z")?.iso8601 == "2026-11-29T08:15:02.000Z")
        #expect(Timestamp(iso8601: "2026-11-29T08:15:02.1234567Z")?.iso8601 == "2026-11-29T08:15:02.123Z")
        #expect(Timestamp(iso8601: "2026-11-29 08:15:02.5")?.iso8601 == "2026-11-29T08:15:02.500Z")
        #expect(Timestamp(iso8601: "2026-11-29T08:15:02+00:00") != nil)
        #expect(Timestamp(iso8601: "2026-13-29T08:15:02Z") == nil)
        #expect(Timestamp(iso8601: "yesterday") == nil)
        #expect(Timestamp(iso8601: "2026-11-29T08:15:02+02:00") == nil)
    }
}
