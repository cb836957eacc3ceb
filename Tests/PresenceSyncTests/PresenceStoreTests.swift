import Foundation
import Logging
import SQLite
import TestSupport
import Testing

@testable import PresenceSync

@Suite("PresenceStore: current state plus append-only history in one SQLite file")
struct PresenceStoreTests {
    static let logger = Logger(label: "test")
    static let alice = "00000000-0000-4000-8000-00000000a11c"
    static let bob = "00000000-0000-4000-8000-000000000b0b"

    static func observation(_ user: String, _ availability: String, _ activity: String? = nil, message: String? = nil)
        -> PresenceObservation
    {
        PresenceObservation(
            userID: user,
            state: PresenceState(
                availability: availability, activity: activity ?? availability, statusMessage: message),
            sequenceNumber: UUID().uuidString)
    }

    static func at(_ seconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: 1_800_000_000_000 + seconds * 1000)
    }

    /// Every row `sql` selects from the file, read by a connection of its own, columns as text.
    static func rows(_ path: String, _ sql: String) throws -> [[String?]] {
        let db = try Connection(path: path, mode: .readOnly)
        defer { try? db.close() }
        var rows: [[String?]] = []
        try db.prepare(sql).query { row in rows.append((0..<row.count).map { row.text($0) }) }
        return rows
    }

    /// (user, availability, valid_from, valid_to) for every history row, in id order.
    static func history(_ path: String) throws -> [[String?]] {
        try rows(path, "SELECT user_id, availability, valid_from, valid_to FROM presence_history ORDER BY id")
    }

    @Test("first observations open history rows and fill the current state")
    func firstObservations() async throws {
        let directory = TemporaryDirectory()
        let store = try PresenceStore(path: directory.file("p.db"), logger: Self.logger)
        let changes = try await store.record(
            [Self.observation(Self.alice, "Available"), Self.observation(Self.bob, "Busy", "InACall")],
            observedAt: Self.at(0))
        #expect(changes.map(\.userID) == [Self.alice, Self.bob])
        #expect(changes.allSatisfy { $0.previous == nil && $0.changedFields == PresenceField.allCases })
        await store.close()
        let rows = try Self.history(directory.file("p.db"))
        #expect(rows.count == 2)
        #expect(rows[0] == [Self.alice, "Available", Self.at(0).iso8601, nil])
    }

    /// Records a finished cycle that started at `seconds` (a sweep unless told otherwise).
    static func cycle(_ store: PresenceStore, startedAt seconds: Int64, sweep: Bool = true) async throws {
        var summary = CycleSummary(number: 1, startedAt: at(seconds), users: 2)
        summary.finishedAt = at(seconds + 1)
        summary.isSweep = sweep
        try await store.recordCycle(summary)
    }

    /// Each user's `last_seen` in `presence_current`, by user id.
    static func lastSeen(_ path: String) throws -> [String: String] {
        var seen: [String: String] = [:]
        for row in try rows(path, "SELECT user_id, last_seen FROM presence_current") { seen[row[0]!] = row[1] }
        return seen
    }

    @Test("an unchanged observation writes nothing; last_seen is the start of the last sweep, not rewritten per user")
    func unchanged() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let store = try PresenceStore(path: path, logger: Self.logger)
        _ = try await store.record([Self.observation(Self.alice, "Available")], observedAt: Self.at(0))
        #expect(try Self.lastSeen(path) == [Self.alice: Self.at(0).iso8601], "no sweep yet: the first observation")
        let again = try await store.record([Self.observation(Self.alice, "Available")], observedAt: Self.at(60))
        #expect(again.isEmpty)
        let stateRows = try Self.rows(path, "SELECT written FROM current")
        #expect(stateRows == [["\(Self.at(0).millisecondsSinceEpoch)"]], "the unchanged observation wrote nothing")
        try await Self.cycle(store, startedAt: 60)
        #expect(try Self.lastSeen(path) == [Self.alice: Self.at(60).iso8601])
        try await Self.cycle(store, startedAt: 120, sweep: false)
        #expect(try Self.lastSeen(path) == [Self.alice: Self.at(60).iso8601], "a cycle cut short is not a sweep")
        await store.close()
        #expect(try Self.history(path).count == 1)
    }

    @Test("a user not observed keeps the last_seen it had until it is observed again, across a restart")
    func unobservedUsersFreeze() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let store = try PresenceStore(path: path, logger: Self.logger)
        _ = try await store.record(
            [Self.observation(Self.alice, "Available"), Self.observation(Self.bob, "Busy")], observedAt: Self.at(0))
        try await Self.cycle(store, startedAt: 60)
        try await store.recordUnobserved([Self.bob])
        try await store.recordUnobserved([Self.bob])  // a second failure changes nothing
        try await Self.cycle(store, startedAt: 120)
        #expect(try Self.lastSeen(path) == [Self.alice: Self.at(120).iso8601, Self.bob: Self.at(60).iso8601])
        await store.close()
        let reopened = try PresenceStore(path: path, logger: Self.logger)
        try await Self.cycle(reopened, startedAt: 180)
        #expect(try Self.lastSeen(path)[Self.bob] == Self.at(60).iso8601, "still frozen after a restart")
        #expect(try await reopened.record([Self.observation(Self.bob, "Busy")], observedAt: Self.at(200)).isEmpty)
        #expect(try Self.rows(path, "SELECT count(*) FROM presence_unobserved") == [["0"]])
        try await Self.cycle(reopened, startedAt: 240)
        #expect(try Self.lastSeen(path) == [Self.alice: Self.at(240).iso8601, Self.bob: Self.at(240).iso8601])
        await reopened.close()
    }

    @Test("a user who leaves tracking keeps the last_seen it had when it left; the store forgets its fingerprint")
    func leaversFreeze() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let store = try PresenceStore(path: path, logger: Self.logger)
        let both = [DirectoryUser(id: Self.alice), DirectoryUser(id: Self.bob)]
        try await store.recordTracking([.objectID: both], at: Self.at(0))
        var alice = Self.observation(Self.alice, "Available")
        alice.fingerprint = 7
        _ = try await store.record([alice, Self.observation(Self.bob, "Busy")], observedAt: Self.at(0))
        let aliceKey = try #require(UserKey(Self.alice))
        #expect(store.withKnownFingerprints { $0(aliceKey) } == 7, "recorded once committed")
        try await Self.cycle(store, startedAt: 60)
        try await store.recordTracking([.objectID: [DirectoryUser(id: Self.bob)]], at: Self.at(90))
        #expect(store.withKnownFingerprints { $0(aliceKey) } == 0, "forgotten: her next answer is compared in full")
        try await Self.cycle(store, startedAt: 120)
        #expect(try Self.lastSeen(path) == [Self.alice: Self.at(60).iso8601, Self.bob: Self.at(120).iso8601])
        await store.close()
    }

    @Test("a field the answer left out keeps its last known value; an explicit null clears it")
    func omittedFieldsCarryForward() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let store = try PresenceStore(path: path, logger: Self.logger)
        _ = try await store.record(
            [Self.observation(Self.alice, "Available", message: "On leave Friday")], observedAt: Self.at(0))
        var shortened = Self.observation(Self.alice, "Away")
        shortened.omitted = [.statusMessage]
        let away = try await store.record([shortened], observedAt: Self.at(10))
        #expect(away.map(\.changedFields) == [[.availability, .activity]])
        #expect(away.first?.current.statusMessage == "On leave Friday", "carried forward, not cleared")
        var onlyShortened = Self.observation(Self.alice, "Away")
        onlyShortened.omitted = [.statusMessage, .workLocationType]
        #expect(try await store.record([onlyShortened], observedAt: Self.at(20)).isEmpty, "an omission is no change")
        let cleared = try await store.record([Self.observation(Self.alice, "Away")], observedAt: Self.at(30))
        #expect(cleared.map(\.changedFields) == [[.statusMessage]], "null (nil, not omitted) clears")
        await store.close()
        let messages = try Self.rows(path, "SELECT status_message FROM presence_history ORDER BY id")
        #expect(messages == [["On leave Friday"], ["On leave Friday"], [nil]])
    }

    @Test("a file of schema 7 migrates in place: rows kept, last_seen kept, users no longer tracked frozen")
    func migrationFromSchema7() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        do {
            let db = try Connection(path: path, mode: .readWriteCreate)
            _ = try Migrator(Array(Schema.migrations.prefix(7))).migrate(db)
            try db.execute(
                """
                INSERT INTO presence_history (id, user_id, availability, activity, out_of_office, changed_fields,
                    valid_from) VALUES
                    (1, '\(Self.alice)', 'Busy', 'InACall', 0, 'availability', '\(Self.at(0).iso8601)'),
                    (2, '\(Self.bob)', 'Away', 'Away', 0, 'availability', '\(Self.at(0).iso8601)');
                INSERT INTO presence_current (user_id, history_id, availability, activity, out_of_office, since,
                    last_seen) VALUES
                    ('\(Self.alice)', 1, 'Busy', 'InACall', 0, '\(Self.at(0).iso8601)', '\(Self.at(50).iso8601)'),
                    ('\(Self.bob)', 2, 'Away', 'Away', 0, '\(Self.at(0).iso8601)', '\(Self.at(40).iso8601)');
                INSERT INTO users (user_id, source, tracking_started, tracking_stopped) VALUES
                    ('\(Self.alice)', 'id', '\(Self.at(0).iso8601)', NULL),
                    ('\(Self.bob)', 'id', '\(Self.at(0).iso8601)', '\(Self.at(45).iso8601)');
                INSERT INTO poll_cycles (started_at, finished_at, users, observed, changes, missing, failed_batches,
                    unexpected_ids) VALUES ('\(Self.at(30).iso8601)', '\(Self.at(31).iso8601)', 2, 2, 0, 0, 0, 0);
                """)
            try db.close()
        }
        let store = try PresenceStore(path: path, logger: Self.logger)
        #expect(try Self.lastSeen(path) == [Self.alice: Self.at(50).iso8601, Self.bob: Self.at(40).iso8601])
        try await Self.cycle(store, startedAt: 90)
        #expect(try Self.lastSeen(path) == [Self.alice: Self.at(90).iso8601, Self.bob: Self.at(40).iso8601])
        let changed = try await store.record([Self.observation(Self.alice, "Available")], observedAt: Self.at(100))
        #expect(changed.first?.previous?.availability == "Busy" && changed.first?.historyID == 3)
        await store.close()
        #expect(try Self.rows(path, "PRAGMA user_version") == [["\(Schema.migrations.count)"]])
    }

    @Test("a change closes the previous row at the moment the new one opens, in the same transaction")
    func change() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let store = try PresenceStore(path: path, logger: Self.logger)
        _ = try await store.record([Self.observation(Self.alice, "Available")], observedAt: Self.at(0))
        let changes = try await store.record(
            [Self.observation(Self.alice, "Busy", "InAMeeting", message: "standup")], observedAt: Self.at(30))
        let change = try #require(changes.first)
        #expect(change.previous?.availability == "Available")
        #expect(change.previousSince == Self.at(0))
        #expect(change.changedFields == [.availability, .activity, .statusMessage])
        #expect(change.since == Self.at(30))
        await store.close()
        let rows = try Self.history(path)
        #expect(
            rows == [
                [Self.alice, "Available", Self.at(0).iso8601, Self.at(30).iso8601],
                [Self.alice, "Busy", Self.at(30).iso8601, nil],
            ])
    }

    @Test("a wall clock stepping backwards never produces a row that ends before it starts")
    func clockStepBack() async throws {
        let directory = TemporaryDirectory()
        let store = try PresenceStore(path: directory.file("p.db"), logger: Self.logger)
        _ = try await store.record([Self.observation(Self.alice, "Available")], observedAt: Self.at(100))
        let changes = try await store.record([Self.observation(Self.alice, "Away")], observedAt: Self.at(50))
        #expect(changes.first?.since == Self.at(100))
        await store.close()
    }

    @Test("reopening continues from the stored state: no duplicate first rows, ids keep growing, same instance id")
    func reopen() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let first = try PresenceStore(path: path, logger: Self.logger)
        let instance = first.instanceID
        let created = try await first.record([Self.observation(Self.alice, "Available")], observedAt: Self.at(0))
        await first.close()
        let second = try PresenceStore(path: path, logger: Self.logger)
        #expect(second.instanceID == instance)
        #expect(second.usersWithFingerprint == 0, "fingerprints fill as users are observed, not from the file")
        var unchanged = Self.observation(Self.alice, "Available")
        unchanged.fingerprint = 42
        #expect(try await second.record([unchanged], observedAt: Self.at(10)).isEmpty)
        #expect(second.usersWithFingerprint == 1)
        let changed = try await second.record([Self.observation(Self.alice, "Away")], observedAt: Self.at(20))
        #expect(changed.first!.historyID > created.first!.historyID)
        await second.close()
        #expect(try Self.history(path).count == 2)
    }

    @Test("the schema is versioned: a fresh file is at the latest version; a newer file is refused untouched")
    func schemaVersion() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        await (try PresenceStore(path: path, logger: Self.logger)).close()
        let db = try Connection(path: path)
        #expect(try db.userVersion >= 1)
        try db.setUserVersion(99)
        try db.close()
        #expect(throws: StoreError.self) { try PresenceStore(path: path, logger: Self.logger) }
        #expect(try Connection(path: path, mode: .readOnly).userVersion == 99)
    }

    @Test("another process can read the file while the store writes (WAL)")
    func concurrentReader() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let store = try PresenceStore(path: path, logger: Self.logger)
        _ = try await store.record([Self.observation(Self.alice, "Available")], observedAt: Self.at(0))
        let reader = try Connection(path: path, mode: .readOnly)
        let count = try reader.prepare("SELECT count(*) FROM presence_current").queryOne { $0.int(0) }
        #expect(count == 1)
        let journal = try reader.prepare("PRAGMA journal_mode").queryOne { $0.text(0) }
        #expect(journal == "wal")
        _ = try await store.record([Self.observation(Self.bob, "Busy")], observedAt: Self.at(1))
        #expect(try reader.prepare("SELECT count(*) FROM presence_current").queryOne { $0.int(0) } == 2)
        await store.close()
    }

    @Test("a closed store refuses to record, saying so")
    func closed() async throws {
        let directory = TemporaryDirectory()
        let store = try PresenceStore(path: directory.file("p.db"), logger: Self.logger)
        await store.close()
        await #expect(throws: StoreError.self) {
            try await store.record([Self.observation(Self.alice, "Available")], observedAt: Self.at(0))
        }
    }

    @Test("recordTracking counts every period it opens or closes, lists the first 1,000, and opens one per pair")
    func trackingChangesAreCountedAndCapped() async throws {
        let directory = TemporaryDirectory()
        let store = try PresenceStore(path: directory.file("p.db"), logger: Self.logger)
        let ids = (0..<1500).map { String(format: "00000000-0000-4000-8000-%012d", $0) }
        let group = UserSource.group("11111111-2222-3333-4444-555555555555")
        // A member listed twice in one source (a paging overlap, say) still opens a single period.
        let membership: TrackedMembership = [
            .objectID: ids.map { DirectoryUser(id: $0) },
            group: [DirectoryUser(id: ids[0]), DirectoryUser(id: ids[0])],
        ]
        let first = try await store.recordTracking(membership, at: Self.at(0))
        #expect(first.startedCount == 1501)
        #expect(first.started.count == TrackingChanges.examples)
        #expect(first.stoppedCount == 0 && first.stopped.isEmpty)
        let again = try await store.recordTracking(membership, at: Self.at(1))
        #expect(again == TrackingChanges())
        let shrunk = try await store.recordTracking(
            [.objectID: ids.prefix(100).map { DirectoryUser(id: $0) }], at: Self.at(2))
        #expect(shrunk.stoppedCount == 1401 && shrunk.stopped.count == TrackingChanges.examples)
        #expect(shrunk.startedCount == 0)
        await store.close()
        let db = try Connection(path: directory.file("p.db"), mode: .readOnly)
        let counts = try db.prepare(
            "SELECT count(*), count(*) FILTER (WHERE tracking_stopped IS NULL) FROM users"
        ).queryOne { [$0.int(0), $0.int(1)] }
        #expect(counts == [1501, 100])
    }

    @Test("recordTracking leaves open exactly the membership's pairs, round after round and across a restart")
    func trackingMatchesMembership() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        var store = try PresenceStore(path: path, logger: Self.logger)
        // Ids in no particular order, so the members arrive unsorted; each round draws with repetition.
        let ids = (0..<300).map {
            String(format: "%08x-0000-4000-8000-000000000000", ($0 * 2_654_435_761) % 4_294_967_296)
        }
        let sources: [UserSource] = [
            .objectID, .group("11111111-2222-3333-4444-555555555555"), .group("66666666-2222-3333-4444-555555555555"),
            .userPrincipalName("Someone@Example.com"),
        ]
        var random: UInt64 = 0x9e37_79b9_7f4a_7c15
        func draw(_ bound: Int) -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((random >> 33) % UInt64(bound))
        }
        func pairs(_ keys: [TrackingPeriodKey]) -> Set<String> { Set(keys.map { "\($0.source)|\($0.userID)" }) }
        var open: Set<String> = []
        for round in 0..<10 {
            if round == 5 {
                await store.close()
                store = try PresenceStore(path: path, logger: Self.logger)
            }
            var membership: TrackedMembership = [:]
            for source in sources where round != 7 && draw(4) != 0 {
                membership[source] = (0..<draw(250)).map { _ in DirectoryUser(id: ids[draw(ids.count)]) }
            }
            let wanted = Set(membership.flatMap { source, users in users.map { "\(source)|\($0.id)" } })
            let changes = try await store.recordTracking(membership, at: Self.at(Int64(round)))
            #expect(changes.startedCount == wanted.subtracting(open).count, "round \(round)")
            #expect(changes.stoppedCount == open.subtracting(wanted).count, "round \(round)")
            #expect(pairs(changes.started) == wanted.subtracting(open), "round \(round)")
            #expect(pairs(changes.stopped) == open.subtracting(wanted), "round \(round)")
            let stored = try Self.rows(path, "SELECT source, user_id FROM users WHERE tracking_stopped IS NULL")
                .map { "\($0[0] ?? "")|\($0[1] ?? "")" }
            #expect(Set(stored) == wanted, "round \(round)")
            open = wanted
        }
        await store.close()
    }

    @Test("a member listed twice opens one period with the UPN one listing has; ids are compared as bytes")
    func trackingDuplicatesAndBytes() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let store = try PresenceStore(path: path, logger: Self.logger)
        let group = UserSource.group("11111111-2222-3333-4444-555555555555")
        // Equal for Swift's ==, different as bytes (and so for SQLite): two ids, not one.
        let composed = "caf\u{e9}-user"
        let decomposed = "cafe\u{301}-user"
        func upns() throws -> [String: String] {
            let open = try Self.rows(
                path, "SELECT user_id, coalesce(user_principal_name, '-') FROM users WHERE tracking_stopped IS NULL")
            return Dictionary(uniqueKeysWithValues: open.map { ($0[0] ?? "", $0[1] ?? "") })
        }
        let first = try await store.recordTracking(
            [
                group: [
                    DirectoryUser(id: Self.bob), DirectoryUser(id: Self.bob, userPrincipalName: "bob@example.com"),
                    DirectoryUser(id: Self.alice), DirectoryUser(id: composed),
                ]
            ], at: Self.at(0))
        #expect(first.startedCount == 3)
        #expect(try upns() == [Self.bob: "bob@example.com", Self.alice: "-", composed: "-"])
        let second = try await store.recordTracking(
            [
                group: [
                    DirectoryUser(id: Self.bob), DirectoryUser(id: Self.alice),
                    DirectoryUser(id: Self.alice, userPrincipalName: "alice@example.com"),
                    DirectoryUser(id: decomposed),
                ]
            ], at: Self.at(1))
        #expect(second.started == [TrackingPeriodKey(userID: decomposed, source: group)])
        #expect(second.stopped == [TrackingPeriodKey(userID: composed, source: group)])
        #expect(try upns() == [Self.bob: "bob@example.com", Self.alice: "alice@example.com", decomposed: "-"])
        await store.close()
    }
}
