import Synchronization

/// The tenant's groups, the faults queued for directory requests, and the directory counters.
///
/// Groups are defined by tests and tools (``GraphSimulator/setGroup(_:members:groups:)``,
/// `PUT /_simulator/groups/{id}`) and may nest; `transitiveMembers` flattens them, each user once, nested cycles
/// tolerated.
final class SimulatedGroups: Sendable {
    private struct Group {
        var members: [String]
        var groups: [String]
    }

    private struct State {
        var groups: [String: Group] = [:]
        var faults: [SimulatedFault] = []
        var throttledItems = 0
        var throttledRetryAfter = 1
        var counters = DirectoryStatistics()
    }

    private let state = Mutex(State())

    /// Defines (or redefines) a group: its direct user members and nested groups, ids compared lower-cased.
    func set(_ groupID: String, members: [String], groups: [String]) {
        state.withLock {
            $0.groups[groupID.lowercased()] = Group(
                members: members.map { $0.lowercased() }, groups: groups.map { $0.lowercased() })
        }
    }

    /// Removes a group; it answers 404 from then on.
    func remove(_ groupID: String) {
        _ = state.withLock { $0.groups.removeValue(forKey: groupID.lowercased()) }
    }

    /// The group's user members, direct and through nested groups, each once in definition order; nil for an
    /// unknown group.
    func transitiveMembers(of groupID: String) -> [String]? {
        state.withLock { state in
            guard state.groups[groupID.lowercased()] != nil else { return nil }
            var visited = Set<String>()
            var seen = Set<String>()
            var members: [String] = []
            func visit(_ id: String) {
                guard visited.insert(id).inserted, let group = state.groups[id] else { return }
                for member in group.members where seen.insert(member).inserted { members.append(member) }
                for nested in group.groups { visit(nested) }
            }
            visit(groupID.lowercased())
            return members
        }
    }

    /// Queues faults for the next directory requests (`$batch`, member pages), one per request.
    func enqueue(_ faults: [SimulatedFault]) {
        state.withLock { $0.faults.append(contentsOf: faults) }
    }

    /// The oldest queued directory fault, removed.
    func dequeueFault() -> SimulatedFault? {
        state.withLock { $0.faults.isEmpty ? nil : $0.faults.removeFirst() }
    }

    /// The next `count` items of `$batch` requests answer 429 with `Retry-After: retryAfterSeconds`.
    func throttleItems(_ count: Int, retryAfterSeconds: Int) {
        state.withLock {
            $0.throttledItems += count
            $0.throttledRetryAfter = retryAfterSeconds
        }
    }

    /// If an item throttle is pending, consumes it and returns its Retry-After.
    func takeItemThrottle() -> Int? {
        state.withLock { state in
            guard state.throttledItems > 0 else { return nil }
            state.throttledItems -= 1
            state.counters.throttledBatchItems += 1
            return state.throttledRetryAfter
        }
    }

    var statistics: DirectoryStatistics { state.withLock { $0.counters } }

    func count(_ update: (inout DirectoryStatistics) -> Void) {
        state.withLock { update(&$0.counters) }
    }
}

/// Counters of the directory endpoints (`$batch`, group members).
public struct DirectoryStatistics: Sendable, Codable, Equatable {
    /// `POST /v1.0/$batch` requests, whatever their outcome.
    public var batchRequests = 0
    /// Requests inside `$batch` bodies that were answered (throttled ones included).
    public var batchItems = 0
    /// Batch items answered 429 because of ``GraphSimulator/throttleBatchItems(_:retryAfterSeconds:)``.
    public var throttledBatchItems = 0
    /// Pages of group members requested, whatever their outcome.
    public var groupPageRequests = 0
    /// Directory requests answered by an injected fault.
    public var faultsServed = 0

    public init() {}
}
