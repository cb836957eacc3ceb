import Synchronization

/// The object ids the poller reads, replaced as a whole when the users are resolved again.
///
/// The poller takes one snapshot at the start of each cycle, so a replacement never changes a running cycle: it
/// applies from the next one.
public final class TrackedUsers: Sendable {
    private let ids: Mutex<[String]>

    public init(_ ids: [String] = []) {
        self.ids = Mutex(ids)
    }

    /// The ids in force now.
    public var current: [String] { ids.withLock { $0 } }

    /// Replaces the ids; the next cycle polls the new ones.
    public func replace(with new: [String]) {
        ids.withLock { $0 = new }
    }
}
