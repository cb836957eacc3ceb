import Foundation
import PresenceSync
import Testing

@Suite("Retry-After: seconds or an HTTP-date")
struct RetryAfterTests {
    static let now = Date(timeIntervalSince1970: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT

    @Test(
        "every form RFC 9110 allows is read as seconds from now",
        arguments: [
            ("120", 120.0), (" 7 ", 7), ("0", 0), ("1.5", 1.5),
            ("Sun, 06 Nov 1994 08:51:37 GMT", 120), ("Sunday, 06-Nov-94 08:50:37 GMT", 60),
            ("Sun Nov  6 08:49:47 1994", 10), ("Sun, 06 Nov 1994 08:00:00 GMT", 0),
        ])
    func accepted(value: String, seconds: Double) {
        #expect(RetryAfter.seconds(value, now: Self.now) == seconds)
    }

    @Test("anything else is not a Retry-After", arguments: ["", "-5", "soon", "Sun, 06 Nov 1994", "inf", "nan"])
    func refused(value: String) {
        #expect(RetryAfter.seconds(value, now: Self.now) == nil)
    }
}
