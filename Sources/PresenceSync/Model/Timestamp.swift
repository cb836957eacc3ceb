import Foundation

/// A wall-clock instant with millisecond precision, written as ISO-8601 UTC text (`2026-11-29T08:15:02.123Z`).
///
/// That text sorts chronologically and SQLite's date functions read it, so operators can query the history with
/// plain SQL. Formatting is hand-written: it runs for every change and every observed user on the hot path.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    public var description: String { iso8601 }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, always 24 characters for years 0000–9999.
    public var iso8601: String {
        let millis = Int64(millisecondsSinceEpoch).modulo(1000)
        let seconds = (millisecondsSinceEpoch - millis) / 1000
        let secondOfDay = seconds.modulo(86_400)
        let days = (seconds - secondOfDay) / 86_400
        let (year, month, day) = Self.civil(fromDays: days)
        var bytes = [UInt8](repeating: 0, count: 24)
        func put(_ value: Int64, _ at: Int, _ width: Int) {
            var value = value
            for index in stride(from: at + width - 1, through: at, by: -1) {
                bytes[index] = UInt8(48 + value % 10)
                value /= 10
            }
        }
        put(year, 0, 4)
        bytes[4] = UInt8(ascii: "-")
        put(month, 5, 2)
        bytes[7] = UInt8(ascii: "-")
        put(day, 8, 2)
        bytes[10] = UInt8(ascii: "T")
        put(secondOfDay / 3600, 11, 2)
        bytes[13] = UInt8(ascii: ":")
        put(secondOfDay / 60 % 60, 14, 2)
        bytes[16] = UInt8(ascii: ":")
        put(secondOfDay % 60, 17, 2)
        bytes[19] = UInt8(ascii: ".")
        put(millis, 20, 3)
        bytes[23] = UInt8(ascii: "Z")
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses the text `iso8601` writes (also without milliseconds, and with a `+00:00` suffix); nil otherwise.
    public init?(iso8601 text: String) {
        var text = text
        guard let milliseconds = text.withUTF8({ Self.parse(iso8601: $0) }) else { return nil }
        millisecondsSinceEpoch = milliseconds
    }

    /// Milliseconds since the epoch of ISO-8601 UTF-8 bytes, read in place (no copies: outbox reads parse two per
    /// event).
    private static func parse(iso8601 bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard bytes.count >= 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"),
            bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                guard index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 else { return nil }
                value = value * 10 + Int64(bytes[index] - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var millis: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 3 { millis = millis * 10 + Int64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 3) { millis *= 10 }
        }
        let rest = UnsafeBufferPointer(rebasing: bytes[index...])
        guard rest.isEmpty || rest.elementsEqual("Z".utf8) || rest.elementsEqual("+00:00".utf8) else { return nil }
        let days = days(fromCivil: year, month, day)
        return ((days * 86_400) + hour * 3600 + minute * 60 + second) * 1000 + millis
    }

    /// Howard Hinnant's days-from-civil algorithm (proleptic Gregorian calendar).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The inverse of `days(fromCivil:)`.
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (month <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, month, day)
    }
}

extension Int64 {
    /// The mathematical modulo: never negative for a positive divisor.
    fileprivate func modulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
