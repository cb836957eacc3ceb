import Synchronization

/// What the next poll cycle runs with, and the timer that starts it. A reload swaps the plan between cycles.
///
/// The poll loop takes the plan when a cycle starts and never sees it change during the cycle; a reload that
/// arrives meanwhile applies from the next cycle. Arming the timer and swapping the plan happen under one
/// lock, so a new interval is never lost: when the loop is idle the swap re-arms the timer at once (counting
/// from the last cycle's start), otherwise the loop arms it with the new interval when the cycle ends.
final class PollSchedule: Sendable {
    /// Everything one cycle needs that a reload may replace.
    struct Plan: Sendable {
        var configuration: Configuration
        var poller: PresencePoller
    }

    private struct State {
        var plan: Plan
        var cycleRunning = false
        var lastStart: ContinuousClock.Instant?
    }

    private let state: Mutex<State>
    /// Starts cycles; armed here only, once per cycle.
    let timer: CycleTimer

    init(plan: Plan, timer: CycleTimer = CycleTimer()) {
        self.state = Mutex(State(plan: plan))
        self.timer = timer
    }

    /// The plan in force now.
    var plan: Plan { state.withLock { $0.plan } }

    /// Marks a cycle as running and returns the plan to run it with.
    func beginCycle() -> Plan {
        state.withLock {
            $0.cycleRunning = true
            $0.lastStart = .now
            return $0.plan
        }
    }

    /// Marks the cycle finished and arms the timer for the next one; returns the delay chosen (0 if overdue).
    @discardableResult
    func endCycle() -> Duration {
        state.withLock {
            $0.cycleRunning = false
            return armTimer(&$0)
        }
    }

    /// Replaces the plan. When no cycle is running, re-arms the timer so a changed interval applies at once, and a
    /// switch to adaptive polling starts at once.
    func replace(with plan: Plan) {
        state.withLock {
            let switched = $0.plan.configuration.polling.mode != plan.configuration.polling.mode
            $0.plan = plan
            if switched && plan.configuration.polling.mode == .adaptive && !$0.cycleRunning {
                timer.fire(after: 0)
            } else if !$0.cycleRunning && $0.lastStart != nil {
                armTimer(&$0)
            }
        }
    }

    /// Fires the first cycle at once.
    func start() { timer.fire(after: 0) }

    @discardableResult
    private func armTimer(_ state: inout State) -> Duration {
        let interval = Duration.seconds(state.plan.configuration.polling.intervalSeconds)
        let elapsed = state.lastStart.map { ContinuousClock.now - $0 } ?? .zero
        let delay = max(.zero, interval - elapsed)
        timer.fire(after: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
        return delay
    }
}
