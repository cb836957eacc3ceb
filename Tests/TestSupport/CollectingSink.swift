import PresenceSync
import Synchronization

/// An event sink that keeps every event it receives, so tests can compare them with the database.
public final class CollectingSink: EventSink {
    private let received = Mutex<[ChangeEvent]>([])

    public init() {}

    public var events: [ChangeEvent] { received.withLock { $0 } }

    public func emit(_ events: [ChangeEvent]) async { received.withLock { $0.append(contentsOf: events) } }

    public func flush() async {}
}
