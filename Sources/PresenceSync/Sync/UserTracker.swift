import Logging
import Synchronization

/// What one resolution found, for the log, the tests and the choice of the next delay.
public struct ResolutionReport: Sendable, Equatable {
    /// Users tracked from now on.
    public var trackedUsers = 0
    /// Entries the directory does not know (`upn alice@contoso.com`, `group <id>`): skipped.
    public var notFound: [String] = []
    /// Entries that could not be read (Graph down, throttled): their previous members are kept.
    public var failed: [String] = []
    /// True when nothing at all resolved while users were tracked before, so the previous set was kept whole.
    public var keptPrevious = false
    /// What changed in the `users` table.
    public var changes = TrackingChanges()

    public init() {}

    /// True when every entry was read (found or definitely not found).
    public var isComplete: Bool { failed.isEmpty && !keptPrevious }
}

/// Turns the configured users (object ids, UPNs, groups) into the set the poller polls, and keeps it current.
///
/// A resolution runs at start, every `userResolution.intervalSeconds`, sooner (`retrySeconds`) after one that could
/// not read everything, and at once after a reload. Object ids need no request; UPNs go through `$batch`; groups
/// are expanded to their transitive user members. Each resolution records who is tracked through which source in
/// the `users` table and then replaces the poller's set, which applies from the next cycle.
///
/// Failures never shrink the set by accident: an entry that cannot be read keeps the members it had before (from
/// the last resolution, or the `users` table after a restart), an entry the directory does not know (404) is
/// logged by name and skipped, and if nothing at all resolved while users were tracked the previous set stays
/// (unless everything was read and the groups are simply empty).
public final class UserTracker: Sendable {
    private struct State {
        var configuration: Configuration
        /// The membership decided last, without the listed ids (`.objectID`); nil until read from the store.
        ///
        /// Listed ids need no fallback (they never fail to resolve) and the configuration holds them already:
        /// keeping them here too cost 3.2 MB at 100,000 ids. So when nothing resolves after a reload that removed
        /// every listed id, the ids the operator removed are not kept; the groups and UPNs are.
        var previous: TrackedMembership?
    }

    /// The set the poller reads at the start of each cycle.
    public let trackedUsers: TrackedUsers
    private let state: Mutex<State>
    private let resolver: UserResolver
    private let store: PresenceStore
    private let logger: Logger
    private let wake = WakeSignal()
    /// Told about every finished resolution (metrics).
    private let resolutionFinished: @Sendable (ResolutionReport) -> Void
    private let firstResolution: AsyncStream<Void>
    private let firstResolutionDone: AsyncStream<Void>.Continuation

    /// Starts with the directly listed object ids; `resolve()` adds the rest.
    public init(
        configuration: Configuration, resolver: UserResolver, store: PresenceStore, logger: Logger,
        resolutionFinished: @escaping @Sendable (ResolutionReport) -> Void = { _ in }
    ) {
        self.resolutionFinished = resolutionFinished
        self.state = Mutex(State(configuration: configuration))
        self.trackedUsers = TrackedUsers(configuration.users)
        self.resolver = resolver
        self.store = store
        self.logger = logger
        (firstResolution, firstResolutionDone) = AsyncStream.makeStream(of: Void.self)
    }

    /// Takes the users and resolution settings of a reloaded configuration and resolves again at once.
    public func update(_ configuration: Configuration) {
        state.withLock { $0.configuration = configuration }
        wake.signal()
    }

    /// Resolves now, then again on the interval (or after a reload) until cancelled.
    public func run() async {
        defer { firstResolutionDone.finish() }
        while !Task.isCancelled {
            let report = await resolve()
            firstResolutionDone.finish()
            let settings = state.withLock { $0.configuration.userResolution }
            let seconds = report.isComplete ? settings.intervalSeconds : settings.retrySeconds
            await wake.wait(timeout: .milliseconds(Int64(seconds * 1000)))
        }
    }

    /// Returns once `run()` finished its first resolution (or was cancelled).
    public func waitForFirstResolution() async {
        for await _ in firstResolution {}
    }

    /// Like `waitForFirstResolution()`, but gives up after `timeout`; true when the resolution finished.
    public func waitForFirstResolution(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.waitForFirstResolution()
                return !Task.isCancelled
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let finished = await group.next() ?? false
            group.cancelAll()
            return finished
        }
    }

    /// Resolves every configured entry once, records the result and replaces the tracked set.
    @discardableResult
    public func resolve() async -> ResolutionReport {
        let (configuration, known) = state.withLock { ($0.configuration, $0.previous) }
        var previous: TrackedMembership = [:]
        if let known {
            previous = known
        } else {
            do {
                previous = try await store.openTrackingPeriods(includingListedIDs: false)
            } catch {
                logger.error("cannot read the tracked users from the database", metadata: ["error": "\(error)"])
            }
            // Until Graph answers, poll whom the last run tracked through the entries still configured.
            var interim = previous
            interim[.objectID] = configuration.users.map { DirectoryUser(id: $0) }
            trackedUsers.replace(with: Self.orderedUserIDs(interim, configuration: configuration, extras: false))
        }
        var report = ResolutionReport()
        var membership = TrackedMembership()
        if !configuration.users.isEmpty {
            membership[.objectID] = configuration.users.map { DirectoryUser(id: $0) }
        }
        var unreachable = await resolveUserPrincipalNames(
            configuration.userPrincipalNames, previous, &membership, &report)
        for group in configuration.groups {
            unreachable = await expand(group: group, unreachable: unreachable, previous, &membership, &report)
        }
        if Task.isCancelled {
            report.keptPrevious = true
            return report
        }
        if Self.isEmpty(membership) && !Self.isEmpty(previous) {
            if report.failed.isEmpty && report.notFound.isEmpty {
                logger.warning("every configured group is empty: no user is tracked any more")
            } else {
                logger.error(
                    "no configured user or group resolved; the previously tracked users stay tracked",
                    metadata: ["previous_users": "\(Self.userIDs(previous).count)"])
                membership = previous
                report.keptPrevious = true
            }
        }
        Self.fillUserPrincipalNames(&membership)
        do {
            report.changes = try await store.recordTracking(membership, at: .now())
        } catch {
            logger.error("cannot record the tracked users", metadata: ["error": "\(error)"])
        }
        let ids = Self.orderedUserIDs(membership, configuration: configuration)
        trackedUsers.replace(with: ids)
        membership[.objectID] = nil
        state.withLock { $0.previous = membership }
        report.trackedUsers = ids.count
        // A resolution's transient sets and lists can be as large as the tracked set itself.
        HeapTrim.releaseFreeMemory()
        log(report)
        resolutionFinished(report)
        return report
    }

    /// Resolves the UPNs; returns Graph's error when it could not be reached at all, so groups are not tried.
    ///
    /// Each unknown or failed UPN is logged by name, except when Graph was unreachable: then one line says so.
    private func resolveUserPrincipalNames(
        _ upns: [String], _ previous: TrackedMembership, _ membership: inout TrackedMembership,
        _ report: inout ResolutionReport
    ) async -> GraphError? {
        guard !upns.isEmpty else { return nil }
        let results = await resolver.resolve(userPrincipalNames: upns)
        var unreachable: GraphError?
        if case .failed(let error) = results[upns[0]], error.isUnreachable,
            upns.allSatisfy({ results[$0] == .failed(error) })
        {
            unreachable = error
            logger.warning(
                "Graph cannot be reached to resolve user principal names; they keep what they resolved to before",
                metadata: ["upns": "\(upns.count)", "error": "\(error)"])
        }
        for upn in upns {
            let source = UserSource.userPrincipalName(upn)
            switch results[upn] ?? .failed(.cancelled) {
            case .resolved(let id):
                membership[source] = [DirectoryUser(id: id, userPrincipalName: upn)]
            case .notFound(let requestID):
                report.notFound.append("upn \(upn)")
                logger.warning(
                    "user principal name not found in the directory (or refused as a name); skipped",
                    metadata: ["upn": "\(upn)", "request-id": "\(requestID ?? "-")"])
            case .failed(let error):
                report.failed.append("upn \(upn)")
                if let kept = previous[source] { membership[source] = kept }
                if unreachable == nil {
                    logger.warning(
                        "cannot resolve a user principal name; keeping what it resolved to before",
                        metadata: ["upn": "\(upn)", "error": "\(error)", "kept": "\(previous[source]?.count ?? 0)"])
                }
            }
        }
        return unreachable
    }

    /// Reads one group's members (or, when Graph is known to be unreachable, keeps its previous members without
    /// asking); returns Graph's error when it could not be reached.
    private func expand(
        group: String, unreachable: GraphError?, _ previous: TrackedMembership,
        _ membership: inout TrackedMembership, _ report: inout ResolutionReport
    ) async -> GraphError? {
        let source = UserSource.group(group)
        if let unreachable {
            report.failed.append("group \(group)")
            if let kept = previous[source] { membership[source] = kept }
            logger.warning(
                "Graph cannot be reached to read a group; keeping its previous members",
                metadata: ["group": "\(group)", "error": "\(unreachable)", "kept": "\(previous[source]?.count ?? 0)"])
            return unreachable
        }
        do throws(GraphError) {
            let members = try await resolver.transitiveUserMembers(ofGroup: group)
            membership[source] = members
            logger.debug("group expanded", metadata: ["group": "\(group)", "members": "\(members.count)"])
            return nil
        } catch let error where error.httpStatus == 404 {
            report.notFound.append("group \(group)")
            logger.warning(
                "group not found in the directory; skipped",
                metadata: ["group": "\(group)", "request-id": "\(error.requestID ?? "-")"])
            return nil
        } catch {
            report.failed.append("group \(group)")
            if let kept = previous[source] { membership[source] = kept }
            logger.warning(
                "cannot read a group's members; keeping its previous members",
                metadata: ["group": "\(group)", "error": "\(error)", "kept": "\(previous[source]?.count ?? 0)"])
            return error.isUnreachable ? error : nil
        }
    }

    private func log(_ report: ResolutionReport) {
        func shown(_ keys: [TrackingPeriodKey]) -> String {
            keys.prefix(10).map(\.description).joined(separator: ", ") + (keys.count > 10 ? ", ..." : "")
        }
        var metadata: Logger.Metadata = [
            "users": "\(report.trackedUsers)", "started": "\(report.changes.startedCount)",
            "stopped": "\(report.changes.stoppedCount)",
        ]
        if !report.changes.started.isEmpty { metadata["started_users"] = "\(shown(report.changes.started))" }
        if !report.changes.stopped.isEmpty { metadata["stopped_users"] = "\(shown(report.changes.stopped))" }
        if !report.notFound.isEmpty { metadata["not_found"] = "\(report.notFound.joined(separator: ", "))" }
        if !report.failed.isEmpty { metadata["failed"] = "\(report.failed.joined(separator: ", "))" }
        let changed = !report.changes.started.isEmpty || !report.changes.stopped.isEmpty
        logger.log(level: changed || !report.isComplete ? .info : .debug, "users resolved", metadata: metadata)
    }

    /// True when no source has a member (without building the set of ids: 100,000 users are common).
    static func isEmpty(_ membership: TrackedMembership) -> Bool {
        !membership.values.contains { !$0.isEmpty }
    }

    /// Every user id of `membership`.
    static func userIDs(_ membership: TrackedMembership) -> Set<String> {
        Set(membership.values.joined().map(\.id))
    }

    /// The ids in a stable order: listed ids, then UPNs and groups in configuration order, then (with `extras`)
    /// anything kept from sources no longer configured; each once.
    static func orderedUserIDs(
        _ membership: TrackedMembership, configuration: Configuration, extras: Bool = true
    ) -> [String] {
        // Ids only, the common large case: the configuration already rejected repeats, so the list is the answer
        // (the same array, no set of 100,000 strings to build).
        if membership.count == 1, let listed = membership[.objectID], listed.count == configuration.users.count,
            zip(listed, configuration.users).allSatisfy({ $0.id == $1 })
        {
            return configuration.users
        }
        var order: [UserSource] = [.objectID]
        order += configuration.userPrincipalNames.map(UserSource.userPrincipalName)
        order += configuration.groups.map(UserSource.group)
        let listed = Set(order)
        if extras { order += membership.keys.filter { !listed.contains($0) }.sorted() }
        var seen = Set<String>()
        var ids: [String] = []
        for source in order {
            for user in membership[source] ?? [] where seen.insert(user.id).inserted { ids.append(user.id) }
        }
        return ids
    }

    /// Gives every member the UPN another source knows for it (a listed id that is also in a group, say).
    static func fillUserPrincipalNames(_ membership: inout TrackedMembership) {
        var known: [String: String] = [:]
        for user in membership.values.joined() {
            if let upn = user.userPrincipalName { known[user.id] = upn }
        }
        guard !known.isEmpty else { return }  // ids only: nothing to fill, and no copy of every member
        for source in membership.keys {
            membership[source] = membership[source]?.map { user in
                var user = user
                if user.userPrincipalName == nil { user.userPrincipalName = known[user.id] }
                return user
            }
        }
    }
}
