import Synchronization

/// How far a sink has delivered the snapshot or replay it is sending, when events complete out of order across
/// lanes: the position that may be recorded is the one of the last page whose events have all completed, and of
/// every page before it (the `DeliveryWatermark` of backfill pages).
///
/// Backfill events never count for the sink's live watermark: a replayed event can have the history id of a live
/// event in flight at the same time.
final class BackfillProgress: Sendable {
    private struct Page {
        var position: Int64
        var finished: Bool
        var waiting: Set<Int64>
    }

    private struct State {
        var pages: [Page] = []
        var inFlight = 0
        /// The newest position all of whose pages completed and that was not taken yet.
        var completed: (position: Int64, finished: Bool)?
    }

    private let state = Mutex(State())
    /// Signalled whenever events complete.
    let wake = WakeSignal()

    init() {}

    /// Backfill events handed to lanes and not completed yet.
    var inFlight: Int { state.withLock { $0.inFlight } }

    /// Registers a page just read (its records are about to go to the lanes).
    func add(_ page: BackfillPage) {
        state.withLock { state in
            state.pages.append(
                Page(position: page.position, finished: page.finished, waiting: Set(page.records.map(\.historyID))))
            state.inFlight += page.records.count
            Self.popCompleted(&state)
        }
    }

    /// Marks backfill events delivered (or given up on).
    func complete(_ ids: [Int64]) {
        state.withLock { state in
            for id in ids {
                guard let index = state.pages.firstIndex(where: { $0.waiting.contains(id) }) else { continue }
                state.pages[index].waiting.remove(id)
                state.inFlight -= 1
            }
            Self.popCompleted(&state)
        }
        wake.signal()
    }

    /// The position to record, if it moved since the last call, and whether the backfill is then complete.
    func takeCompleted() -> (position: Int64, finished: Bool)? {
        state.withLock { state in
            defer { state.completed = nil }
            return state.completed
        }
    }

    /// Forgets everything (the sink stopped; its lanes are gone).
    func reset() { state.withLock { $0 = State() } }

    private static func popCompleted(_ state: inout State) {
        while let first = state.pages.first, first.waiting.isEmpty {
            state.completed = (first.position, first.finished)
            state.pages.removeFirst()
        }
    }
}
