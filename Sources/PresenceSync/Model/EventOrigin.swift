/// Why an event is sent: what a sink and its consumer need to tell a live change from a re-sent one.
///
/// The origin decides the event's id and type (`ChangeEvent`): a replayed change keeps the id it was first
/// delivered with (consumers deduplicate on it) and carries the `replayed` extension attribute; a snapshot event
/// has an id of its own, stable for one snapshot, so that it never collides with the change of the same row.
public enum EventOrigin: Sendable, Equatable, Hashable {
    /// A change delivered from the sink's live cursor.
    case live
    /// A user's state as of history id `asOf`, sent once per tracked user before the changes after `asOf`.
    case snapshot(asOf: Int64)
    /// A change re-sent by `presence-sync replay`; `request` tells one request's requests from another's.
    case replay(request: Int64)
}
