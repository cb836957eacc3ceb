/// A snapshot or replay a sink is sending (a row of `outbox_backfills`), and how far it got.
///
/// A sink asks its `EventLog` for its backfill, reads it in pages (`backfillPage`) and records its position
/// after each page has been delivered (`advanceBackfill`), so a crash resends at most the pages in flight, with
/// the same event ids, and memory holds a few pages whatever the size of the tenant or of the history.
public struct OutboxBackfill: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// One snapshot event per tracked user, as of history id `through`; the sink's live events wait for it.
        case snapshot
        /// The changes with history ids in `first + 1 ... through` again, beside the sink's live events.
        case replay
    }

    /// The cursor name of the sink (`webhook:<name>`, `stdout`).
    public var sink: String
    public var kind: Kind
    /// When it was requested (Unix milliseconds): identifies the request (a newer request replaces the row).
    public var requestedAt: Int64
    /// Replay: re-send the history ids after this one. Snapshot: 0.
    public var first: Int64
    /// Snapshot: the history id the states are as of. Replay: the last history id to re-send (the sink's cursor
    /// when the replay was asked for; what came later reaches the sink live).
    public var through: Int64
    /// Snapshot: the last user key sent. Replay: the last history id sent.
    public var position: Int64
    /// Users (snapshot) or history rows (replay) to send in all, when it was requested.
    public var total: Int
    /// Replay: the time asked for.
    public var since: Timestamp?

    /// The origin the events of this backfill carry.
    public var origin: EventOrigin {
        switch kind {
        case .snapshot: .snapshot(asOf: through)
        case .replay: .replay(request: requestedAt)
        }
    }
}

/// One page of a backfill: its records, and the position to record once they are all delivered.
public struct BackfillPage: Sendable, Equatable {
    public var records: [ChangeRecord]
    public var position: Int64
    /// Nothing is left after `position`: the backfill is complete once the records are delivered.
    public var finished: Bool
}
