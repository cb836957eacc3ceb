import Logging
import PresenceSync
import SQLite
import TestSupport
import Testing

/// The history queries and retention on a hand-built history with known times.
@Suite("History queries")
struct HistoryQueriesTests {
    static let user = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
    static let other = "0b2c1d3e-0000-4000-8000-000000000001"

    static func at(_ text: String) -> Timestamp { Timestamp(iso8601: text)! }

    /// user: Available 10:00–11:00, Busy/InAMeeting 11:00–11:30, Away from 11:30 (open).
    /// other: Busy/InACall from 10:45 (open).
    static func database(in directory: TemporaryDirectory) async throws -> String {
        let path = directory.file("history.db")
        let store = try PresenceStore(path: path, logger: Logger(label: "test"))
        let states: [(String, String, String, String)] = [
            ("2026-01-05T10:00:00.000Z", user, "Available", "Available"),
            ("2026-01-05T10:45:00.000Z", other, "Busy", "InACall"),
            ("2026-01-05T11:00:00.000Z", user, "Busy", "InAMeeting"),
            ("2026-01-05T11:30:00.000Z", user, "Away", "Away"),
        ]
        for (time, id, availability, activity) in states {
            let observation = PresenceObservation(
                userID: id, state: PresenceState(availability: availability, activity: activity))
            _ = try await store.record([observation], observedAt: at(time))
        }
        await store.close()
        return path
    }

    @Test("report clips every interval to the window and ends open intervals at now")
    func report() async throws {
        let directory = TemporaryDirectory()
        let database = try HistoryDatabase(path: try await Self.database(in: directory))
        let report = try database.report(
            from: Self.at("2026-01-05T10:30:00Z"), to: Self.at("2026-01-05T13:00:00Z"),
            now: Self.at("2026-01-05T12:00:00Z"), by: .availability)
        let minutes = { (user: String, state: String) in
            report.rows.first { $0.userID == user && $0.state == state }.map { $0.milliseconds / 60_000 }
        }
        #expect(report.to == Self.at("2026-01-05T12:00:00Z"), "the window never reaches past now")
        #expect(minutes(Self.user, "Available") == 30)
        #expect(minutes(Self.user, "Busy") == 30)
        #expect(minutes(Self.user, "Away") == 30)
        #expect(minutes(Self.other, "Busy") == 75, "covered from the first observation at 10:45")
        let covered = Dictionary(uniqueKeysWithValues: report.coveredMilliseconds.map { ($0.userID, $0.milliseconds) })
        #expect(covered[Self.user] == Int64(90 * 60_000))
        let byActivity = try database.report(
            from: Self.at("2026-01-05T11:10:00Z"), to: Self.at("2026-01-05T11:20:00Z"),
            now: Self.at("2026-01-05T12:00:00Z"), by: .activity, userID: Self.user)
        #expect(byActivity.rows == [.init(userID: Self.user, state: "InAMeeting", milliseconds: 600_000)])
    }

    @Test("timeline, since and current answer from the same rows")
    func questions() async throws {
        let directory = TemporaryDirectory()
        let database = try HistoryDatabase(path: try await Self.database(in: directory))
        let timeline = try database.timeline(
            of: Self.user, from: Self.at("2026-01-05T10:59:00Z"), to: Self.at("2026-01-05T11:10:00Z"))
        #expect(timeline.map(\.state.availability) == ["Available", "Busy"])
        #expect(timeline.last?.changedFields == ["availability", "activity"])
        let since = try #require(try database.since(Self.user))
        #expect(since.current.since == Self.at("2026-01-05T11:30:00Z"))
        #expect(since.lastAvailable == .at(Self.at("2026-01-05T11:00:00Z")))
        #expect(try database.since(Self.other)?.lastAvailable == .never(historyStart: Self.at("2026-01-05T10:45:00Z")))
        #expect(try database.current(availability: "busy").map(\.userID) == [Self.other])
        #expect(try database.isTracked(Self.user))
        #expect(try !database.isTracked("00000000-0000-4000-8000-000000000000"))
        #expect(throws: StoreError.self) { try HistoryDatabase(path: directory.file("missing.db")) }
    }

    @Test("current and status list only users tracked now, once the file records tracking")
    func currentOnlyTracked() async throws {
        let directory = TemporaryDirectory()
        let path = try await Self.database(in: directory)
        let everyone = try HistoryDatabase(path: path).current().map(\.userID)
        #expect(everyone == [Self.other, Self.user], "no tracking recorded yet: every current row")
        #expect(try ServiceStatus.read(path: path).usersTracked == 2)

        let store = try PresenceStore(path: path, logger: Logger(label: "test"))
        try await store.recordTracking(
            [.objectID: [DirectoryUser(id: Self.user), DirectoryUser(id: Self.other)]],
            at: Self.at("2026-01-05T12:00:00Z"))
        try await store.recordTracking([.objectID: [DirectoryUser(id: Self.user)]], at: Self.at("2026-01-05T13:00:00Z"))
        await store.close()

        let database = try HistoryDatabase(path: path)
        #expect(try database.current().map(\.userID) == [Self.user], "the user who left tracking is not listed")
        #expect(try database.current(availability: "busy").isEmpty, "other's Busy is a last known state, not now")
        #expect(try database.current(includeUntracked: true).map(\.userID) == [Self.other, Self.user])
        #expect(try database.current(userID: Self.other).map(\.state.activity) == ["InACall"], "asked by name")
        #expect(try ServiceStatus.read(path: path).usersTracked == 1)
    }

    @Test("prune deletes only closed rows ended before the cutoff; open rows survive however old")
    func prune() async throws {
        let directory = TemporaryDirectory()
        let path = try await Self.database(in: directory)
        let first = try HistoryMaintenance.prune(path: path, before: Self.at("2026-01-05T11:15:00Z"))
        #expect(first.rowsDeleted == 1, "only Available 10:00–11:00 ended before 11:15")
        let all = try HistoryMaintenance.prune(path: path, before: Self.at("2030-01-01T00:00:00Z"))
        #expect(all.rowsDeleted == 1)
        let reader = try HistoryReader(path: path)
        #expect(try reader.integer("SELECT count(*) FROM presence_history") == 2)
        #expect(try reader.integer("SELECT count(*) FROM presence_history WHERE valid_to IS NULL") == 2)
        #expect(try reader.invariantViolations() == [])
    }

    @Test("backup refuses an existing destination and copies a database that opens")
    func backup() async throws {
        let directory = TemporaryDirectory()
        let path = try await Self.database(in: directory)
        let copy = directory.file("copy.db")
        try HistoryMaintenance.backup(path: path, to: copy)
        #expect(try HistoryDatabase(path: copy).current().count == 2)
        #expect(throws: StoreError.self) { try HistoryMaintenance.backup(path: path, to: copy) }
    }
}
