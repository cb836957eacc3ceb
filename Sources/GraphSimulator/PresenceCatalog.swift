/// The realistic values a simulated presence is made of.
///
/// Messages are deliberately nasty for JSON and storage code: accents, CJK, emoji (including ZWJ sequences and
/// flags), quotes, backslashes, newlines, tabs, XML-looking text, a lone empty string and a long text.
enum PresenceCatalog {
    /// An availability/activity pair as Teams reports them together.
    struct ActivityPair: Sendable {
        let availability: String
        let activity: String
        /// Relative frequency of the pair in initial states.
        let weight: Int
    }

    /// A status message's content and whether Graph reports it with the far-future (no) expiry.
    struct StatusMessage: Sendable {
        let content: String
        let showsNeverExpires: Bool
    }

    /// A work location type with the `source` Graph reports with it (a function of the type, so that a
    /// change of source alone never happens: it would be invisible in ``SimulatedPresence``).
    struct WorkLocation: Sendable {
        let type: String
        let source: String
    }

    static let activityPairs: [ActivityPair] = [
        ActivityPair(availability: "Available", activity: "Available", weight: 30),
        ActivityPair(availability: "Busy", activity: "InACall", weight: 8),
        ActivityPair(availability: "Busy", activity: "InAMeeting", weight: 12),
        ActivityPair(availability: "Busy", activity: "InAConferenceCall", weight: 4),
        ActivityPair(availability: "Busy", activity: "Busy", weight: 6),
        ActivityPair(availability: "DoNotDisturb", activity: "Presenting", weight: 2),
        ActivityPair(availability: "DoNotDisturb", activity: "DoNotDisturb", weight: 3),
        ActivityPair(availability: "DoNotDisturb", activity: "UrgentInterruptionsOnly", weight: 1),
        ActivityPair(availability: "Away", activity: "Away", weight: 8),
        ActivityPair(availability: "BeRightBack", activity: "BeRightBack", weight: 3),
        ActivityPair(availability: "AvailableIdle", activity: "Available", weight: 5),
        ActivityPair(availability: "AvailableIdle", activity: "Inactive", weight: 2),
        ActivityPair(availability: "BusyIdle", activity: "Busy", weight: 2),
        ActivityPair(availability: "Offline", activity: "OffWork", weight: 8),
        ActivityPair(availability: "Offline", activity: "Offline", weight: 10),
        ActivityPair(availability: "Away", activity: "OutOfOffice", weight: 2),
        ActivityPair(availability: "Offline", activity: "OutOfOffice", weight: 1),
    ]

    static let statusMessages: [StatusMessage] = [
        StatusMessage(content: "Working from home today", showsNeverExpires: true),
        StatusMessage(content: "In workshops all day, replies may be slow", showsNeverExpires: false),
        StatusMessage(content: "Café break ☕ back in 15", showsNeverExpires: true),
        StatusMessage(content: "本日は在宅勤務です。急ぎの場合はお電話ください。", showsNeverExpires: false),
        StatusMessage(content: "On holiday 🌴🏝️ until Monday 🇫🇷", showsNeverExpires: true),
        StatusMessage(content: "Debugging 👩‍💻 — please don't ping", showsNeverExpires: false),
        StatusMessage(content: "Reading \"The Pragmatic Programmer\" — ask me about it", showsNeverExpires: true),
        StatusMessage(content: "Files are in C:\\Users\\shared\\Q4\\ and \\\\server\\share", showsNeverExpires: false),
        StatusMessage(content: "Line one\nLine two\r\nLine three\twith a tab", showsNeverExpires: true),
        StatusMessage(
            content: "<b>Important</b> & <i>urgent</i>: see <a href='x'>wiki</a> </script>", showsNeverExpires: false),
        StatusMessage(content: "Ünïcödé façade naïve coöperate Ωμέγα Русский العربية עברית", showsNeverExpires: true),
        StatusMessage(content: "", showsNeverExpires: false),
        StatusMessage(
            content: "Bell\u{07} and NUL-free control\u{01}chars \u{1F} and separator\u{2028}here",
            showsNeverExpires: true),
        StatusMessage(
            content: String(repeating: "Long status message, ", count: 12) + "the end.",
            showsNeverExpires: false),
        StatusMessage(content: "Focus time 🎧 until 14:00 (UTC+01:00)", showsNeverExpires: true),
        StatusMessage(content: "Slash / and backslash \\ and quote \" and apostrophe '", showsNeverExpires: false),
    ]

    static let outOfOfficeMessages: [String] = [
        "I am out of the office until 2 January with no access to email.",
        "Je suis absent jusqu'au 15 août. Pour toute urgence, contactez \"Équipe Support\" <support@example.com>.",
        "休暇中です。1月6日に戻ります。",
        "Parental leave 👶 — back in spring.\nUrgent: call the front desk.",
        "Out sick today; path to handover notes: \\\\fileserver\\handover\\me.docx",
    ]

    static let workLocations: [WorkLocation] = [
        WorkLocation(type: "office", source: "manual"),
        WorkLocation(type: "remote", source: "scheduled"),
        WorkLocation(type: "timeOff", source: "scheduled"),
        WorkLocation(type: "unknown", source: "automatic"),
    ]

    /// Index of a pair drawn with the pairs' weights.
    static func weightedPairIndex(using random: inout SplitMix64) -> Int {
        let draw = random.nextIndex(totalPairWeight)
        var index = 0
        while cumulativePairWeights[index] <= draw { index += 1 }
        return index
    }

    /// Running totals of the pair weights: pair `i` is drawn for values below `cumulativePairWeights[i]`.
    private static let cumulativePairWeights: [Int] = {
        var total = 0
        return activityPairs.map { pair in
            total += pair.weight
            return total
        }
    }()

    private static let totalPairWeight = cumulativePairWeights.last ?? 1
}
