/// What Graph documents as acceptable for the presence write APIs, checked before any request is sent.
///
/// Graph answers a wrong pair or duration with a bare 400; checking first lets the command say what is allowed.
/// Values are matched case-insensitively and sent in Graph's spelling.
public enum PresenceRules {
    /// An availability with the activity that may accompany it.
    public struct Pair: Sendable, Hashable, CustomStringConvertible {
        public var availability: String
        public var activity: String

        public init(_ availability: String, _ activity: String) {
            self.availability = availability
            self.activity = activity
        }

        public var description: String { "\(availability)/\(activity)" }
    }

    /// setPresence (an application's presence session) accepts only these combinations.
    public static let sessionPairs: [Pair] = [
        Pair("Available", "Available"), Pair("Busy", "InACall"), Pair("Busy", "InAConferenceCall"),
        Pair("Away", "Away"), Pair("DoNotDisturb", "Presenting"),
    ]

    /// setUserPreferredPresence accepts only these combinations.
    public static let preferredPairs: [Pair] = [
        Pair("Available", "Available"), Pair("Busy", "Busy"), Pair("DoNotDisturb", "DoNotDisturb"),
        Pair("BeRightBack", "BeRightBack"), Pair("Away", "Away"), Pair("Offline", "OffWork"),
    ]

    /// setPresence's expirationDuration: PT5M to PT4H, in seconds.
    public static let sessionDurationSeconds: ClosedRange<Int> = 300...14_400

    /// The documented pair matching `availability`/`activity` (any case), or an error listing the allowed ones.
    public static func pair(
        availability: String, activity: String, allowed: [Pair], api: String
    ) throws(PresenceRuleError) -> Pair {
        let match = allowed.first {
            $0.availability.lowercased() == availability.lowercased()
                && $0.activity.lowercased() == activity.lowercased()
        }
        guard let match else {
            let list = allowed.map(\.description).joined(separator: ", ")
            throw PresenceRuleError(
                "\(api) does not accept availability '\(availability)' with activity '\(activity)'; "
                    + "allowed (availability/activity): \(list)")
        }
        return match
    }

    /// Checks setPresence's expirationDuration and returns it normalized (`PT1H30M`), or nil when not given.
    public static func sessionDuration(_ text: String?) throws(PresenceRuleError) -> String? {
        guard let text else { return nil }
        guard let seconds = ISODuration.seconds(text) else {
            throw PresenceRuleError(
                "--expires '\(text)' is not an ISO 8601 duration such as PT30M or PT1H (allowed: PT5M to PT4H)")
        }
        guard sessionDurationSeconds.contains(seconds) else {
            throw PresenceRuleError("--expires '\(text)' is outside the allowed range PT5M to PT4H")
        }
        return ISODuration.text(seconds: seconds)
    }

    /// Checks setUserPreferredPresence's expirationDuration (Graph documents no range; it must be positive).
    public static func preferredDuration(_ text: String?) throws(PresenceRuleError) -> String? {
        guard let text else { return nil }
        guard let seconds = ISODuration.seconds(text), seconds > 0 else {
            throw PresenceRuleError("--expires '\(text)' is not a positive ISO 8601 duration such as PT8H or P1D")
        }
        return ISODuration.text(seconds: seconds)
    }
}

/// A presence write was refused before sending: the message says what is allowed.
public struct PresenceRuleError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String

    public init(_ description: String) { self.description = description }
}

/// ISO 8601 durations of days, hours, minutes and whole seconds (`P1D`, `PT1H30M`, `PT90S`), as Graph uses them.
public enum ISODuration {
    /// The duration in seconds, or nil for anything else (years, months, weeks and fractions are refused).
    public static func seconds(_ text: String) -> Int? {
        var rest = Substring(text.uppercased())
        guard rest.first == "P" else { return nil }
        rest = rest.dropFirst()
        var total = 0
        var inTime = false
        var number = ""
        var sawComponent = false
        for character in rest {
            if character.isASCII, character.isNumber {
                number.append(character)
                continue
            }
            if character == "T" {
                guard !inTime, number.isEmpty else { return nil }
                inTime = true
                continue
            }
            guard let value = Int(number), value <= 1_000_000 else { return nil }
            switch (character, inTime) {
            case ("D", false): total += value * 86_400
            case ("H", true): total += value * 3600
            case ("M", true): total += value * 60
            case ("S", true): total += value
            default: return nil
            }
            number = ""
            sawComponent = true
        }
        guard number.isEmpty, sawComponent else { return nil }
        return total
    }

    /// The shortest text for `seconds`: `PT5M`, `PT1H30M`, `P1DT2H`.
    public static func text(seconds: Int) -> String {
        let days = seconds / 86_400
        let hours = seconds % 86_400 / 3600
        let minutes = seconds % 3600 / 60
        let rest = seconds % 60
        var text = "P" + (days > 0 ? "\(days)D" : "")
        if hours > 0 || minutes > 0 || rest > 0 || days == 0 {
            text += "T"
            if hours > 0 { text += "\(hours)H" }
            if minutes > 0 { text += "\(minutes)M" }
            if rest > 0 || (hours == 0 && minutes == 0 && days == 0) { text += "\(rest)S" }
        }
        return text
    }
}
