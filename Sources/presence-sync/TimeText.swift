import Foundation
import PresenceSync

/// How the history commands show and read times: the local time zone unless `--utc`.
struct TimeText {
    /// Show and read times in UTC rather than the local zone.
    var utc: Bool

    private var zone: TimeZone { utc ? TimeZone(identifier: "UTC")! : TimeZone.current }

    private func offsetSeconds(_ timestamp: Timestamp) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(timestamp.millisecondsSinceEpoch) / 1000))
    }

    /// `+01:00`, or `Z` for UTC.
    private func offsetText(_ seconds: Int) -> String {
        if seconds == 0 && utc { return "Z" }
        let sign = seconds < 0 ? "-" : "+"
        let minutes = abs(seconds) / 60
        return sign + String(format: "%02d:%02d", minutes / 60, minutes % 60)
    }

    /// For people: `2026-11-29 09:15:02 +01:00` (or `… UTC`).
    func display(_ timestamp: Timestamp) -> String {
        let offset = offsetSeconds(timestamp)
        let shifted = Timestamp(millisecondsSinceEpoch: timestamp.millisecondsSinceEpoch + Int64(offset) * 1000).iso8601
        let wallClock = shifted.prefix(19).replacingOccurrences(of: "T", with: " ")
        return wallClock + (utc ? " UTC" : " " + offsetText(offset))
    }

    /// For machines (CSV, JSON): ISO 8601 with milliseconds and the offset, `2026-11-29T09:15:02.123+01:00`.
    func machine(_ timestamp: Timestamp) -> String {
        let offset = offsetSeconds(timestamp)
        let shifted = Timestamp(millisecondsSinceEpoch: timestamp.millisecondsSinceEpoch + Int64(offset) * 1000).iso8601
        return shifted.dropLast() + offsetText(offset)
    }

    /// Reads a time given on the command line, relative to `now`:
    /// `2026-11-01` (midnight), `2026-11-01T08:00[:ss]` (wall clock in the display zone), either with `Z` or an
    /// offset (`+01:00`), `now`, or an age such as `7d`, `12h`, `30m` (that long before now).
    func parse(_ text: String, now: Timestamp) -> Timestamp? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.lowercased() == "now" { return now }
        if let age = Self.age(trimmed) {
            return Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - age)
        }
        let pattern =
            /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?(Z|[+-]\d{2}:\d{2})?$/
        guard let match = trimmed.wholeMatch(of: pattern) else { return nil }
        var components = DateComponents()
        components.year = Int(match.1)
        components.month = Int(match.2)
        components.day = Int(match.3)
        components.hour = match.4.flatMap { Int($0) } ?? 0
        components.minute = match.5.flatMap { Int($0) } ?? 0
        components.second = match.6.flatMap { Int($0) } ?? 0
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        if let suffix = match.8 {
            let seconds = suffix == "Z" ? 0 : Self.offset(String(suffix))
            calendar.timeZone = TimeZone(secondsFromGMT: seconds) ?? zone
        }
        guard let date = calendar.date(from: components),
            calendar.component(.day, from: date) == components.day  // 2026-02-30 rolls over: refuse it
        else { return nil }
        let millis = match.7.map { Int64(String($0).padding(toLength: 3, withPad: "0", startingAt: 0)) ?? 0 } ?? 0
        return Timestamp(millisecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1000).rounded()) + millis)
    }

    /// `7d`, `12h`, `30m`, `45s`, `2w` in milliseconds; nil for anything else.
    static func age(_ text: String) -> Int64? {
        guard let unit = text.last, let value = Int64(text.dropLast()), value >= 0 else { return nil }
        let unitMillis: Int64
        switch unit {
        case "w": unitMillis = 7 * 86_400_000
        case "d": unitMillis = 86_400_000
        case "h": unitMillis = 3_600_000
        case "m": unitMillis = 60_000
        case "s": unitMillis = 1000
        default: return nil
        }
        return value * unitMillis
    }

    private static func offset(_ text: String) -> Int {
        let sign = text.hasPrefix("-") ? -1 : 1
        let parts = text.dropFirst().split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2 else { return 0 }
        return sign * (parts[0] * 3600 + parts[1] * 60)
    }

    /// A duration for people: `45s`, `12m 05s`, `3h 07m`, `2d 04h`.
    static func duration(milliseconds: Int64) -> String {
        let seconds = Int(max(0, milliseconds / 1000))
        let (days, hours, minutes, rest) = (
            seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60, seconds % 60
        )
        if days > 0 { return "\(days)d " + String(format: "%02dh", hours) }
        if hours > 0 { return "\(hours)h " + String(format: "%02dm", minutes) }
        if minutes > 0 { return "\(minutes)m " + String(format: "%02ds", rest) }
        return "\(rest)s"
    }

    /// `HH:MM` as seconds after midnight, nil when it is not a time of day (`simulate --start-time`, the latency
    /// benchmark).
    static func secondsAfterMidnight(_ text: String) -> Double? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]), (0..<24).contains(hours),
            (0..<60).contains(minutes)
        else { return nil }
        return Double(hours * 3600 + minutes * 60)
    }
}
