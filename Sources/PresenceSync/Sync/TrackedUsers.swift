import Synchronization

/// The object ids the poller reads, replaced as a whole when the users are resolved again.
///
/// The poller takes one snapshot at the start of each cycle, so a replacement never changes a running cycle: it
/// applies from the next one.
public final class TrackedUsers: Sendable {
    private let state: Mutex<(ids: [String], version: Int)>

    public init(_ ids: [String] = []) {
        self.state = Mutex((ids, 0))
    }

    /// The ids in force now.
    public var current: [String] { state.withLock { $0.ids } }

    /// The ids in force now and their version, which grows by one with every replacement (adaptive polling sees a
    /// new resolution without comparing ids).
    public var currentWithVersion: (ids: [String], version: Int) { state.withLock { $0 } }

    /// Replaces the ids; the next cycle polls the new ones.
    public func replace(with new: [String]) {
        state.withLock {
            $0.ids = new
            $0.version += 1
        }
    }
}
