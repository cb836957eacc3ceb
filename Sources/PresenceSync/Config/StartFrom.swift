import Foundation

/// Where a sink seen for the first time starts reading the event log (`startFrom` of a webhook endpoint).
///
/// It only matters while the sink has no cursor: the first start writes one, and from then on the sink resumes
/// from its cursor whatever `startFrom` says (changing it later does nothing; `presence-sync replay` re-sends
/// history to a sink that exists). Without `startFrom` a new sink keeps the old rule: the events of the last
/// `events.outboxRetentionHours`.
public enum StartFrom: Sendable, Equatable {
    /// After the newest history row at the moment the sink is first seen: only changes from then on.
    case now
    /// One snapshot event per tracked user (its state and since when, as of the newest history row when the sink
    /// is first seen), then the changes after that row.
    case snapshot
    /// Every change recorded from this time on (the oldest row kept, when the history does not reach back so
    /// far), then live.
    case time(Timestamp)

    /// Reads `now`, `snapshot` or an ISO-8601 time with a zone (`2026-11-29T08:00:00Z`, `...+01:00`, optional
    /// fractional seconds); nil for anything else. The zone is required so that a time means the same instant
    /// on every host.
    public init?(_ text: String) {
        switch text {
        case "now": self = .now
        case "snapshot": self = .snapshot
        default:
            guard let time = Self.instant(text) else { return nil }
            self = .time(time)
        }
    }

    /// An ISO-8601 date and time with a zone designator, to the millisecond.
    static func instant(_ text: String) -> Timestamp? {
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime],
        ] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) {
                return Timestamp(millisecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1000).rounded()))
            }
        }
        return nil
    }

    /// How the choice reads in a log line.
    public var description: String {
        switch self {
        case .now: "now"
        case .snapshot: "snapshot"
        case .time(let time): time.iso8601
        }
    }
}
