import Dispatch

/// The Dispatch timer that starts poll cycles (fixed mode) or requests (adaptive mode), exposed as an async sequence
/// of ticks.
///
/// In fixed mode the timer is one-shot and re-armed by the poll loop after each cycle, which is what keeps cycles from ever
/// overlapping: a cycle that overruns its interval simply arms the next tick for "now" instead of piling up.
///
/// `@unchecked Sendable` is safe because `DispatchSourceTimer` is thread-safe for `schedule`, `setEventHandler`
/// and `cancel` (Dispatch serialises them on the source), and the box holds nothing else that mutates.
final class CycleTimer: @unchecked Sendable {
    private let source: any DispatchSourceTimer
    /// One element per timer firing; ends when the timer is cancelled.
    let ticks: AsyncStream<Void>

    init(queue: DispatchQueue = DispatchQueue(label: "presence-sync.cycle-timer")) {
        let source = DispatchSource.makeTimerSource(queue: queue)
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        source.setEventHandler { continuation.yield() }
        source.setCancelHandler { continuation.finish() }
        self.source = source
        self.ticks = stream
        source.activate()
    }

    /// Arms the timer to fire once, `seconds` from now (0 or less: at once).
    func fire(after seconds: Double) {
        let nanoseconds = Int(max(0, seconds) * 1_000_000_000)
        source.schedule(deadline: .now() + .nanoseconds(nanoseconds), repeating: .never, leeway: .milliseconds(10))
    }

    /// Arms the timer to fire every `seconds` from now on (adaptive polling's pace); replaces any earlier arming.
    func repeatEvery(seconds: Double) {
        let nanoseconds = max(1_000_000, Int(seconds * 1_000_000_000))
        source.schedule(
            deadline: .now() + .nanoseconds(nanoseconds), repeating: .nanoseconds(nanoseconds),
            leeway: .milliseconds(1))
    }

    func cancel() { source.cancel() }

    deinit { source.cancel() }
}
