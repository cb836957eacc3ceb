import DequeModule
import Synchronization

/// How far an endpoint has delivered when events complete out of order across lanes.
///
/// Events are added in history order; the watermark is the highest history id such that every event added up to
/// it has completed (delivered or dead-lettered). That is what the endpoint's cursor may safely record: a restart
/// resends only events after it (some of them possibly again, with the same webhook-id).
final class DeliveryWatermark: Sendable {
    private struct State {
        var watermark: Int64
        var pending: [Int64] = []
        var head = 0
        var done: Set<Int64> = []
    }

    private let state: Mutex<State>

    init(start: Int64) { state = Mutex(State(watermark: start)) }

    /// Events read but not completed yet.
    var inFlight: Int { state.withLock { $0.pending.count - $0.head } }

    var watermark: Int64 { state.withLock { $0.watermark } }

    /// Registers events just read (ascending ids, above everything added before).
    func add(_ ids: [Int64]) { state.withLock { $0.pending.append(contentsOf: ids) } }

    /// Marks events completed and moves the watermark over every completed prefix.
    func complete(_ ids: [Int64]) {
        state.withLock { state in
            state.done.formUnion(ids)
            while state.head < state.pending.count, state.done.remove(state.pending[state.head]) != nil {
                state.watermark = state.pending[state.head]
                state.head += 1
            }
            if state.head > 4096 {
                state.pending.removeFirst(state.head)
                state.head = 0
            }
        }
    }
}

/// The queue of one lane: the events of the users hashed to it, in history order.
final class DeliveryLane: Sendable {
    /// A deque: requests take events off the front, the reader appends at the back.
    private let queue = Mutex<Deque<ChangeRecord>>([])
    let wake = WakeSignal()

    init() {}

    /// Which lane a user's events go to: stable across runs (FNV-1a), so one user's events are always sequential.
    static func index(of userID: String, lanes: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in userID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int(hash % UInt64(lanes))
    }

    func append(_ records: [ChangeRecord]) {
        queue.withLock { $0.append(contentsOf: records) }
        wake.signal()
    }

    /// The first `count` queued events, left in the queue until `removeFirst` (so a failed request keeps them).
    func peek(_ count: Int) -> [ChangeRecord] { queue.withLock { Array($0.prefix(count)) } }

    func removeFirst(_ count: Int) { queue.withLock { $0.removeFirst(min(count, $0.count)) } }
}
