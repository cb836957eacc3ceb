import Dispatch
import Synchronization

/// A level-triggered wake-up for one waiter: `signal()` before `wait` makes the next `wait` return at once.
///
/// Used by outbox readers: the poll cycle signals after each commit, so events leave within milliseconds, and the
/// timeout makes a reader look again even when no one signals (events written by an earlier run, a missed signal).
/// Cancelling the waiting task wakes it.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())

    init() {}

    /// Wakes the waiter, or the next one if nobody waits now.
    func signal() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns on a signal, on cancellation, or after `timeout`, whichever comes first. One waiter at a time.
    func wait(timeout: Duration) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let generation: UInt64? = state.withLock { state in
                    if state.pending {
                        state.pending = false
                        return nil
                    }
                    state.waiter = continuation
                    state.generation &+= 1
                    return state.generation
                }
                guard let generation else {
                    continuation.resume()
                    return
                }
                let nanoseconds =
                    timeout.components.seconds * 1_000_000_000
                    + timeout.components.attoseconds / 1_000_000_000
                DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) {
                    self.expire(generation)
                }
            }
        } onCancel: {
            signal()
        }
    }

    private func expire(_ generation: UInt64) {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard state.generation == generation, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }
}
