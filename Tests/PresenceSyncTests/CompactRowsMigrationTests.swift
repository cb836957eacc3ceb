import Foundation
import Logging
import SQLite
import TestSupport
import Testing

@testable import PresenceSync

@Suite("Migration 9: a schema 8 file becomes compact rows in place, read the same through the documented names")
struct CompactRowsMigrationTests {
    static let logger = Logger(label: "test")

    @Test("every documented row reads the same after the migration, pending events and their ids included")
    func everyRowKept() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        let file = Schema8File(users: 30, rounds: 6)
        let ids = try file.write(path: path)
        let before = try Schema8File.documentedRows(path)
        #expect(before["outbox"]!.count == 30 * 6, "the old outbox kept every event, retention or not")
        #expect(before["presence_history"]!.count == 30 * 6 - 20, "retention deleted 20 first-round rows")

        let store = try PresenceStore(path: path, logger: Self.logger)
        #expect(store.instanceID == "schema8-file", "event ids (instance id + history id) stay valid")
        // A sink that delivered nothing gets every event the old outbox held, in order, the same ones.
        let events = try await store.outboxEvents(after: 0, limit: 10_000)
        #expect(events.map(\.historyID) == ids.joined().sorted())
        // The change after the migration continues the user's history from its migrated state.
        let user = Schema8File.userID(5)
        let next = Schema8File.state(user: 5, round: 6)
        let changes = try await store.record(
            [PresenceObservation(userID: user, state: next)], observedAt: file.time(6))
        #expect(changes.first?.previous == Schema8File.state(user: 5, round: 5))
        #expect(changes.first?.historyID == ids[5][29] + 1)
        await store.close()

        var after = try Schema8File.documentedRows(path)
        let history = after["presence_history"]!
        #expect(
            Array(history.dropLast())
                == before["presence_history"]!.map { row in
                    // The user's open row was closed by the new change.
                    row[1] == user && row[11] == nil ? Array(row.dropLast()) + [file.time(6).iso8601] : row
                })
        after["presence_history"] = nil
        after["outbox"] = after["outbox"].map { Array($0.dropLast()) }
        after["presence_current"] = after["presence_current"]!.filter { $0[0] != user }
        var expected = before
        expected["presence_history"] = nil
        expected["presence_current"] = before["presence_current"]!.filter { $0[0] != user }
        for key in expected.keys.sorted() {
            #expect(after[key] == expected[key], "\(key) changed in the migration")
        }
        #expect(try Self.userVersion(path) == Int32(Schema.migrations.count))
        let db = try Connection(path: path, mode: .readOnly)
        defer { try? db.close() }
        let legacy = try db.prepare("SELECT count(*) FROM outbox_legacy").queryOne { $0.int(0) }
        #expect(legacy == 40, "first-round events whose row was pruned, and the second-round events they preceded")
    }

    static func userVersion(_ path: String) throws -> Int32 {
        let db = try Connection(path: path, mode: .readOnly)
        defer { try? db.close() }
        return try db.userVersion
    }

    @Test("kill -9 during the migration leaves schema 8 whole; the next start migrates it completely")
    func killedMigrationResumes() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.db")
        try Schema8File(users: 2_000, rounds: 60).write(path: path)
        let before = try Schema8File.documentedRows(path)
        let wal = path + "-wal"
        let walAtStart = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0

        // `prune` migrates an older file before pruning; kill it once the migration has written to the WAL.
        var killedMidway = false
        for attempt in 0..<5 where !killedMidway {
            let child = try ChildProcess(["prune", "--db", path, "--older-than", "36500d"], environment: [:])
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline, child.isRunning {
                let size = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
                if size > walAtStart + 1_048_576 {
                    child.send(SIGKILL)
                    break
                }
                try await Task.sleep(for: .microseconds(200))
            }
            _ = await child.waitForExit()
            let version = try Self.userVersion(path)
            killedMidway = child.terminatedBySignal && version == 8
            // Each migration commits on its own: a kill that came after migration 9 leaves a later, whole version.
            #expect(version >= 8 && version <= Int32(Schema.migrations.count), "attempt \(attempt)")
            if version != 8 {
                // Too late for this attempt (a loaded machine): start again from a schema 8 file.
                for file in [path, wal, path + "-shm"] { try? FileManager.default.removeItem(atPath: file) }
                try Schema8File(users: 2_000, rounds: 60).write(path: path)
            }
        }
        #expect(killedMidway, "the child was killed while migrating")
        #expect(try Schema8File.documentedRows(path) == before, "a killed migration changed nothing")

        let store = try PresenceStore(path: path, logger: Self.logger)
        await store.close()
        #expect(try Schema8File.documentedRows(path) == before, "the resumed migration kept every row")
    }
}
