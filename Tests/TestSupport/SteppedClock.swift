import Synchronization

/// The monotonic clock, plus time a test has stepped forward: what a component that takes a `now` function sees
/// when the test says "eight seconds pass" instead of sleeping for them.
public final class SteppedClock: Sendable {
    private let offset = Mutex(Duration.zero)

    public init() {}

    /// The monotonic time plus every step taken so far.
    public func now() -> ContinuousClock.Instant { ContinuousClock.now + offset.withLock { $0 } }

    /// Moves this clock's time forward by `duration`, at once.
    public func step(by duration: Duration) { offset.withLock { $0 += duration } }
}
