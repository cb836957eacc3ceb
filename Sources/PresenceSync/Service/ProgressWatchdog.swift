import Logging
import Synchronization

/// Feeds systemd's watchdog (`WATCHDOG=1`) only while the poll loop keeps making progress.
///
/// A timer that pinged unconditionally would keep a wedged daemon alive forever. Instead the poll loop states,
/// at each step, by when it expects to take the next one (`expectProgress(within:)`): before waiting for the
/// next cycle, when a cycle starts, and each time a batch finishes. The pinger sends `WATCHDOG=1` every half
/// watchdog interval while that deadline lies ahead; once it has passed, the pings stop, one error is logged,
/// and systemd restarts the service when `WatchdogSec=` runs out.
public final class ProgressWatchdog: Sendable {
    private struct State {
        var deadline: ContinuousClock.Instant
        var stallReported = false
    }

    private let state: Mutex<State>

    /// Starts with a first deadline `initialAllowance` from now (start-up: opening the store, first sign-in).
    public init(initialAllowance: Duration) {
        state = Mutex(State(deadline: .now + initialAllowance))
    }

    /// Records progress: the loop promises its next step within `allowance`.
    public func expectProgress(within allowance: Duration) {
        state.withLock {
            $0.deadline = .now + allowance
            $0.stallReported = false
        }
    }

    /// True while the promised next step is not overdue.
    public func isMakingProgress(at now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { now < $0.deadline }
    }

    /// Pings `notifier` every `interval / 2` while the loop makes progress; returns when cancelled.
    public func run(notifier: SystemdNotifier, interval: Duration, logger: Logger) async {
        let period = interval / 2
        while !Task.isCancelled {
            if isMakingProgress() {
                notifier.watchdog()
            } else if reportStallOnce() {
                logger.error(
                    "the poll loop has made no progress in time; withholding watchdog pings so systemd restarts us")
            }
            try? await Task.sleep(for: period)
        }
    }

    /// True the first time a stall is seen (until progress resumes), so it is logged once.
    private func reportStallOnce() -> Bool {
        state.withLock { state in
            guard !state.stallReported else { return false }
            state.stallReported = true
            return true
        }
    }

    /// The longest one batch may take before the loop counts as wedged: a budget wait, then a sign-in and a
    /// request twice over (a 401 forces one new sign-in and one retry), each within the request timeout, plus
    /// 30 s for the store. With the defaults: 30 + 4 × 30 + 30 = 180 s.
    public static func batchAllowance(_ polling: PollingSettings) -> Duration {
        .seconds(polling.budgetWindowSeconds + 4 * polling.requestTimeoutSeconds + 30)
    }

    /// How long the loop may wait between cycles: the interval, plus a batch allowance of slack for a late timer.
    public static func idleAllowance(_ polling: PollingSettings) -> Duration {
        .seconds(polling.intervalSeconds) + batchAllowance(polling)
    }
}
