import Foundation
import Synchronization

/// What the presence write APIs set on simulated users: an application's presence session, the user's preferred
/// presence and a custom status message, each until it expires or is cleared.
///
/// The user's random walk stands for their own Teams clients. As in Teams, the preferred presence (user-configured)
/// wins over the application's session, which wins over the walk. A change to an override takes a fresh sequence
/// number at the next serve, and so does the walk's state when an override ends, so `sequenceNumber` keeps growing.
/// Lock order: the tenant's lock may be held while this one is taken, never the other way round.
final class PresenceOverrides: Sendable {
    /// One user's overrides.
    struct Entry: Sendable {
        /// The session's pair (index into ``PresenceCatalog/activityPairs``) and when it expires.
        var session: (pair: Int, expires: ContinuousClock.Instant)?
        var preferred: (pair: Int, expires: ContinuousClock.Instant)?
        var statusMessage: (text: String, expires: ContinuousClock.Instant?)?
        /// The sequence shown while an override is active; 0 until the next serve assigns one.
        var sequence: UInt64 = 0
        /// Set when an override ended, so the next serve gives the walk's state a fresh sequence.
        var ended = false

        func activePair(at now: ContinuousClock.Instant) -> Int? {
            if let preferred, preferred.expires > now { return preferred.pair }
            if let session, session.expires > now { return session.pair }
            return nil
        }

        func activeMessage(at now: ContinuousClock.Instant) -> String? {
            guard let statusMessage, statusMessage.expires.map({ $0 > now }) ?? true else { return nil }
            return statusMessage.text
        }

        var isEmpty: Bool { session == nil && preferred == nil && statusMessage == nil }
    }

    private let entries = Mutex<[Int: Entry]>([:])
    /// False until the first override is set, so tenants nobody writes to pay no lock per served user.
    private let used = Atomic<Bool>(false)
    private let requestCount = Mutex(0)

    /// Requests to the single-user endpoints (directory, presence reads and writes), whatever their outcome.
    var requests: Int { requestCount.withLock { $0 } }

    func countRequest() { requestCount.withLock { $0 += 1 } }

    /// True once any override has been set.
    var isUsed: Bool { used.load(ordering: .acquiring) }

    /// Applies `change` to user `index`'s entry; the shown state takes a new sequence at the next serve.
    func update<T>(_ index: Int, _ change: (inout Entry) -> T) -> T {
        used.store(true, ordering: .releasing)
        return entries.withLock { entries in
            var entry = entries[index] ?? Entry()
            let result = change(&entry)
            entry.sequence = 0
            entry.ended = true
            entries[index] = entry
            return result
        }
    }

    /// True when user `index` has an application presence session that has not expired.
    func hasSession(_ index: Int) -> Bool {
        entries.withLock { $0[index]?.session.map { $0.expires > .now } ?? false }
    }

    /// The state to serve for user `index` whose walk state is `walk`; may restamp `walk` when an override ended.
    func shown(_ walk: inout UserPresence, index: Int, nextSequence: inout UInt64) -> UserPresence {
        guard used.load(ordering: .acquiring) else { return walk }
        return entries.withLock { entries in
            guard var entry = entries[index] else { return walk }
            let now = ContinuousClock.now
            let pair = entry.activePair(at: now)
            let message = entry.activeMessage(at: now)
            if pair == nil && message == nil {
                if entry.ended || entry.sequence != 0 {
                    walk.sequence = nextSequence
                    nextSequence += 1
                }
                entries[index] = nil
                return walk
            }
            if entry.sequence == 0 {
                entry.sequence = nextSequence
                nextSequence += 1
            }
            entry.ended = false
            entries[index] = entry
            var shown = walk
            if let pair { shown.pair = UInt8(pair) }
            shown.sequence = max(walk.sequence, entry.sequence)
            return shown
        }
    }

    /// The active custom status message of user `index`, nil when none.
    func statusMessage(_ index: Int) -> String? {
        entries.withLock { $0[index]?.activeMessage(at: .now) }
    }

    /// The index of the catalog pair `availability`/`activity`, nil when the catalog has no such pair.
    static func pairIndex(availability: String, activity: String) -> Int? {
        PresenceCatalog.activityPairs.firstIndex { $0.availability == availability && $0.activity == activity }
    }
}
