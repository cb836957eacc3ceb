import Foundation
import GraphSimulator
import InMemoryLogging
import Logging
import PresenceSync
import TestSupport
import Testing

/// Resolving UPNs (through `$batch`) and groups (paged transitive members) against the simulator over loopback
/// HTTP, recording tracking periods in a real SQLite file.
@Suite("User resolution against the simulator", .serialized)
struct UserResolutionTests {
    /// A running simulator, the daemon's Graph plumbing pointed at it, and a database file.
    struct Fixture: Sendable {
        let simulator: GraphSimulator
        let settings: SimulatorConfiguration
        let http: GraphHTTP
        let resolver: UserResolver
        let directory = TemporaryDirectory()
        let logs = InMemoryLogHandler()

        var database: String { directory.file("presence.db") }
        var logger: Logger { Logger(label: "resolution-test") { _ in logs } }

        static func start(users: Int = 300, pageSize: Int = 100) async throws -> Fixture {
            var settings = SimulatorConfiguration()
            settings.userCount = users
            settings.groupPageSize = pageSize
            settings.changeProbability = 0.3
            settings.recordServedStates = true
            let simulator = GraphSimulator(configuration: settings)
            _ = try await simulator.start()
            let configuration = try SimulatorSetup.configuration(
                SimulatorSetup.document(for: simulator, settings: settings, database: "/unused.db"))
            let http = GraphHTTP(connectTimeoutSeconds: 1, requestTimeoutSeconds: 10)
            let logger = Logger(label: "resolution-test")
            let tokens = AccessTokenProvider(
                tenantID: configuration.tenantID, clientID: configuration.clientID,
                credential: configuration.credential, endpoints: configuration.endpoints, http: http, logger: logger,
                environment: [SimulatorSetup.secretVariable: settings.clientSecret])
            let session = GraphSession(http: http, tokens: tokens, endpoints: configuration.endpoints, logger: logger)
            return Fixture(
                simulator: simulator, settings: settings, http: http, resolver: UserResolver(session: session))
        }

        func configuration(users: [String], groups: [String] = []) throws -> Configuration {
            var document = SimulatorSetup.document(for: simulator, settings: settings, database: database)
            document["users"] = users
            document["groups"] = groups
            return try SimulatorSetup.configuration(document)
        }

        func tracker(_ configuration: Configuration, store: PresenceStore) -> UserTracker {
            UserTracker(configuration: configuration, resolver: resolver, store: store, logger: logger)
        }

        func upn(_ index: Int) -> String { simulator.userPrincipalName(for: simulator.userIDs[index])! }

        func close() async {
            await http.shutdown()
            await simulator.stop()
        }
    }

    static let groupA = "6a0e0000-0000-4000-8000-00000000000a"

    @Test("46 UPNs resolve in three $batch requests; throttled items are retried; an unknown UPN is reported by name")
    func batchResolution() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.close() } }
        let upns = (0..<45).map(fixture.upn) + ["nobody@simulated.example"]
        fixture.simulator.throttleBatchItems(3, retryAfterSeconds: 1)

        let results = await fixture.resolver.resolve(userPrincipalNames: upns)
        for index in 0..<45 {
            #expect(results[upns[index]] == .resolved(fixture.simulator.userIDs[index]))
        }
        guard case .notFound(let requestID) = results["nobody@simulated.example"] else {
            Issue.record("nobody@ must be not found, got \(String(describing: results["nobody@simulated.example"]))")
            return
        }
        #expect(requestID != nil)
        let statistics = fixture.simulator.directoryStatistics
        #expect(statistics.throttledBatchItems == 3)
        #expect(statistics.batchRequests == 4, "three batches of 20, 20 and 6, and one retry of the throttled items")
        #expect(statistics.batchItems == 46 + 3)

        // Through the tracker: the unknown UPN is logged by name and skipped, the others are tracked.
        let store = try PresenceStore(path: fixture.database, logger: fixture.logger)
        let tracker = fixture.tracker(try fixture.configuration(users: upns), store: store)
        let report = await tracker.resolve()
        await store.close()
        #expect(report.notFound == ["upn nobody@simulated.example"])
        #expect(report.failed == [])
        #expect(tracker.trackedUsers.current == Array(fixture.simulator.userIDs[0..<45]))
        let warning = fixture.logs.entries.first { $0.message.description.contains("not found") }
        #expect(warning?.metadata["upn"]?.description == "nobody@simulated.example")
        let reader = try HistoryReader(path: fixture.database)
        #expect(try reader.integer("SELECT count(*) FROM users WHERE tracking_stopped IS NULL") == 45)
        #expect(try reader.integer("SELECT count(*) FROM users WHERE source = 'upn:user00007@simulated.example'") == 1)
    }

    @Test("a group of 250 members over three pages is tracked whole, nested groups flattened")
    func groupPaging() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.close() } }
        let ids = fixture.simulator.userIDs
        let nested = "6a0e0000-0000-4000-8000-00000000000b"
        fixture.simulator.setGroup(nested, members: Array(ids[240..<250]))
        fixture.simulator.setGroup(Self.groupA, members: Array(ids[0..<245]), groups: [nested])

        let members = try await fixture.resolver.transitiveUserMembers(ofGroup: Self.groupA)
        #expect(members.map(\.id) == Array(ids[0..<250]))
        #expect(members[42].userPrincipalName == "user00042@simulated.example")
        #expect(fixture.simulator.directoryStatistics.groupPageRequests == 3)

        let store = try PresenceStore(path: fixture.database, logger: fixture.logger)
        let tracker = fixture.tracker(try fixture.configuration(users: [], groups: [Self.groupA]), store: store)
        let report = await tracker.resolve()
        await store.close()
        #expect(report.trackedUsers == 250)
        #expect(Set(tracker.trackedUsers.current) == Set(ids[0..<250]))
        let reader = try HistoryReader(path: fixture.database)
        #expect(try reader.integer("SELECT count(*) FROM users WHERE source = 'group:\(Self.groupA)'") == 250)
        #expect(try reader.integer("SELECT count(*) FROM users WHERE user_principal_name IS NULL") == 0)
    }

    @Test("membership changes between resolutions stop and start tracking periods; the leaver's history stays")
    func membershipChange() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.close() } }
        let ids = fixture.simulator.userIDs
        fixture.simulator.setGroup(Self.groupA, members: Array(ids[0..<20]))
        let store = try PresenceStore(path: fixture.database, logger: fixture.logger)
        // User 5 is also listed by UPN, so leaving the group does not stop tracking it.
        let tracker = fixture.tracker(
            try fixture.configuration(users: [fixture.upn(5), ids[100]], groups: [Self.groupA]), store: store)
        let first = await tracker.resolve()
        #expect(first.trackedUsers == 21)
        #expect(first.changes.started.count == 22 && first.changes.startedCount == 22)
        let available = PresenceState(availability: "Available", activity: "Available")
        _ = try await store.record(
            tracker.trackedUsers.current.map { PresenceObservation(userID: $0, state: available) }, observedAt: .now())

        fixture.simulator.setGroup(Self.groupA, members: Array(ids[2..<20]) + [ids[20]])
        let second = await tracker.resolve()
        #expect(
            Set(second.changes.stopped) == [
                TrackingPeriodKey(userID: ids[0], source: .group(Self.groupA)),
                TrackingPeriodKey(userID: ids[1], source: .group(Self.groupA)),
            ])
        #expect(second.changes.started == [TrackingPeriodKey(userID: ids[20], source: .group(Self.groupA))])
        #expect(!tracker.trackedUsers.current.contains(ids[0]))
        #expect(tracker.trackedUsers.current.contains(ids[20]))

        fixture.simulator.setGroup(Self.groupA, members: Array(ids[0..<5]) + Array(ids[6..<21]))
        let third = await tracker.resolve()
        #expect(Set(third.changes.started.map(\.userID)) == [ids[0], ids[1]])
        #expect(third.changes.stopped == [TrackingPeriodKey(userID: ids[5], source: .group(Self.groupA))])
        #expect(tracker.trackedUsers.current.contains(ids[5]), "user 5 is still listed by UPN")
        await store.close()

        let reader = try HistoryReader(path: fixture.database)
        #expect(try reader.states(of: ids[0]) == [available], "the leaver's history is kept")
        #expect(try reader.integer("SELECT count(*) FROM users WHERE user_id = '\(ids[0])'") == 2)
        #expect(
            try reader.integer(
                "SELECT count(*) FROM users WHERE user_id = '\(ids[0])' AND tracking_stopped IS NOT NULL") == 1)
        #expect(
            try reader.integer(
                """
                SELECT count(*) FROM users WHERE user_id = '\(ids[5])' AND tracking_stopped IS NULL
                AND source = 'upn:user00005@simulated.example'
                """) == 1)
        #expect(try reader.integer("SELECT count(DISTINCT user_id) FROM users WHERE tracking_stopped IS NULL") == 22)
    }

    @Test("when Graph fails, the previous tracked set is kept, also across a restart")
    func failureKeepsPrevious() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.close() } }
        let ids = fixture.simulator.userIDs
        fixture.simulator.setGroup(Self.groupA, members: Array(ids[0..<30]))
        let configuration = try fixture.configuration(
            users: [fixture.upn(50), fixture.upn(51), ids[60]], groups: [Self.groupA])
        let store = try PresenceStore(path: fixture.database, logger: fixture.logger)
        let tracker = fixture.tracker(configuration, store: store)
        let first = await tracker.resolve()
        #expect(first.isComplete)
        let tracked = tracker.trackedUsers.current
        #expect(tracked.count == 33)

        // Graph answers 503 to every directory request: each is retried (Retry-After 0), then given up.
        fixture.simulator.injectDirectoryFaults(Array(repeating: .status(503, retryAfterSeconds: 0), count: 10))
        let throttled = await tracker.resolve()
        #expect(Set(throttled.failed) == ["upn \(fixture.upn(50))", "upn \(fixture.upn(51))", "group \(Self.groupA)"])
        #expect(tracker.trackedUsers.current == tracked)
        #expect(throttled.changes == TrackingChanges())

        // Graph unreachable, and the daemon restarted: the users table still knows who was tracked.
        await fixture.simulator.stop()
        let restarted = fixture.tracker(configuration, store: store)
        let down = await restarted.resolve()
        #expect(!down.isComplete)
        #expect(Set(restarted.trackedUsers.current) == Set(tracked))
        #expect(down.changes == TrackingChanges())
        #expect(Set(down.failed) == Set(throttled.failed))
        // One connection failure is enough: the group is not tried, and the log has one line each, not one per UPN.
        let unreachable = fixture.logs.entries.filter { $0.message.description.contains("cannot be reached") }
        #expect(unreachable.count == 2)
        await store.close()
        let reader = try HistoryReader(path: fixture.database)
        #expect(try reader.integer("SELECT count(*) FROM users WHERE tracking_stopped IS NOT NULL") == 0)
    }

    @Test("if every entry is gone (404) the previous set stays; groups that were read and are empty empty it")
    func nothingResolves() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.close() } }
        let ids = fixture.simulator.userIDs
        fixture.simulator.setGroup(Self.groupA, members: Array(ids[0..<8]))
        let store = try PresenceStore(path: fixture.database, logger: fixture.logger)
        let tracker = fixture.tracker(try fixture.configuration(users: [], groups: [Self.groupA]), store: store)
        await tracker.resolve()
        #expect(tracker.trackedUsers.current == Array(ids[0..<8]))

        fixture.simulator.removeGroup(Self.groupA)
        let gone = await tracker.resolve()
        #expect(gone.notFound == ["group \(Self.groupA)"])
        #expect(gone.keptPrevious)
        #expect(tracker.trackedUsers.current == Array(ids[0..<8]))

        fixture.simulator.setGroup(Self.groupA, members: [])
        let empty = await tracker.resolve()
        #expect(!empty.keptPrevious)
        #expect(tracker.trackedUsers.current == [])
        #expect(empty.changes.stopped.count == 8 && empty.changes.stoppedCount == 8)
        await store.close()
    }

    @Test("after an incomplete resolution the tracker tries again after retrySeconds, not the full interval")
    func retriesSooner() async throws {
        let fixture = try await Fixture.start()
        defer { Task { await fixture.close() } }
        let ids = fixture.simulator.userIDs
        fixture.simulator.setGroup(Self.groupA, members: Array(ids[0..<3]))
        var document = SimulatorSetup.document(
            for: fixture.simulator, settings: fixture.settings, database: fixture.database)
        document["users"] = []
        document["groups"] = [Self.groupA]
        document["userResolution"] = ["intervalSeconds": 3600, "retrySeconds": 0.2]
        let store = try PresenceStore(path: fixture.database, logger: fixture.logger)
        let tracker = fixture.tracker(try SimulatorSetup.configuration(document), store: store)
        // The first resolution is refused (403 is not retried within a resolution); the retry succeeds.
        fixture.simulator.injectDirectoryFaults([.status(403, retryAfterSeconds: nil)])
        let run = Task { await tracker.run() }
        await tracker.waitForFirstResolution()
        #expect(tracker.trackedUsers.current == [])
        let deadline = ContinuousClock.now + .seconds(10)
        while tracker.trackedUsers.current.isEmpty && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        run.cancel()
        await run.value
        await store.close()
        #expect(tracker.trackedUsers.current == Array(ids[0..<3]))
        #expect(fixture.simulator.directoryStatistics.groupPageRequests == 2)
    }

    @Test("the daemon resolves UPNs and a group at start and records history for every resolved user")
    func daemonWithUPNsAndGroup() async throws {
        let fixture = try await Fixture.start(users: 120, pageSize: 10)
        defer { Task { await fixture.close() } }
        let ids = fixture.simulator.userIDs
        fixture.simulator.setGroup(Self.groupA, members: Array(ids[0..<35]))
        var document = SimulatorSetup.document(
            for: fixture.simulator, settings: fixture.settings, database: fixture.database, interval: 0.1)
        document["users"] = (40..<65).map(fixture.upn) + ["ghost@simulated.example", ids[100]]
        document["groups"] = [Self.groupA]
        let configuration = try SimulatorSetup.configuration(document)
        var options = Daemon.Options(maxCycles: 3)
        options.environment = [SimulatorSetup.secretVariable: fixture.settings.clientSecret]
        try await Daemon(configuration: configuration, options: options, logger: fixture.logger).run()

        let expected = Array(ids[0..<35]) + Array(ids[40..<65]) + [ids[100]]
        let reader = try HistoryReader(path: fixture.database)
        for user in expected {
            let recorded = try reader.states(of: user)
            #expect(!recorded.isEmpty, "no history for \(user)")
            #expect(recorded == SimulatorSetup.distinctStates(fixture.simulator.servedStates(for: user)))
        }
        #expect(try reader.integer("SELECT count(DISTINCT user_id) FROM presence_history") == expected.count)
        #expect(try reader.integer("SELECT min(users) FROM poll_cycles") == expected.count)
        #expect(try reader.integer("SELECT count(*) FROM users WHERE tracking_stopped IS NULL") == expected.count)
        #expect(try reader.invariantViolations() == [])
        #expect(fixture.logs.entries.contains { $0.metadata["upn"]?.description == "ghost@simulated.example" })
        #expect(fixture.simulator.directoryStatistics.groupPageRequests == 4)
    }

    static func eventually(_ database: String, seconds: Double = 15, _ condition: (HistoryReader) throws -> Bool) async
        -> Bool
    {
        await HistoryReader.eventually(database, seconds: seconds, condition)
    }

    @Test("a reload resolves the users again at once, and the next cycles poll the new set")
    func reloadResolvesAgain() async throws {
        let fixture = try await Fixture.start(users: 60, pageSize: 4)
        defer { Task { await fixture.close() } }
        let ids = fixture.simulator.userIDs
        fixture.simulator.setGroup(Self.groupA, members: Array(ids[0..<10]))
        var document = SimulatorSetup.document(
            for: fixture.simulator, settings: fixture.settings, database: fixture.database, interval: 0.1)
        document["users"] = [ids[50]]
        document["groups"] = [Self.groupA]
        let path = try SimulatorSetup.writeConfig(document, in: fixture.directory)
        var options = Daemon.Options()
        options.environment = [SimulatorSetup.secretVariable: fixture.settings.clientSecret]
        options.configurationFile = path
        let daemon = Daemon(
            configuration: try SimulatorSetup.configuration(document), options: options, logger: fixture.logger)
        let run = Task { try await daemon.run() }
        #expect(await Self.eventually(fixture.database) { try $0.integer("SELECT count(*) FROM poll_cycles") >= 2 })
        #expect(try HistoryReader(path: fixture.database).integer("SELECT max(users) FROM poll_cycles") == 11)

        fixture.simulator.setGroup(Self.groupA, members: Array(ids[0..<5]) + Array(ids[20..<25]))
        document["users"] = [ids[50], fixture.upn(55)]
        _ = try SimulatorSetup.writeConfig(document, in: fixture.directory)
        daemon.reload()
        let applied = await Self.eventually(fixture.database) { reader in
            try reader.integer("SELECT users FROM poll_cycles ORDER BY id DESC LIMIT 1") == 12
        }
        daemon.stop()
        try await run.value
        #expect(applied, "the cycles after the reload poll 5 + 5 group members, one id and one UPN")
        let reader = try HistoryReader(path: fixture.database)
        #expect(
            try reader.integer(
                "SELECT count(*) FROM users WHERE tracking_stopped IS NOT NULL AND source LIKE 'group:%'")
                == 5)
        #expect(try reader.integer("SELECT count(*) FROM users WHERE source = 'upn:user00055@simulated.example'") == 1)
        #expect(try reader.states(of: ids[22]).isEmpty == false, "a new member is polled")
        #expect(try reader.states(of: ids[7]).isEmpty == false, "a member who left keeps their history")
    }
}
