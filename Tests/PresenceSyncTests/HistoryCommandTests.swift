import Foundation
import GraphSimulator
import Logging
import PresenceSync
import SQLite
import TestSupport
import Testing

/// The history commands as a real process, against databases filled by a real daemon run over loopback.
@Suite("history commands", .serialized)
struct HistoryCommandTests {
    /// The records of an RFC 4180 text: a CR LF ends a record only outside quotes.
    static func csvRecords(_ text: String) -> [String] {
        var records: [String] = []
        var record = ""
        var quoted = false
        for character in text {
            if character == "\r\n" && !quoted {
                records.append(record)
                record = ""
                continue
            }
            if character == "\"" { quoted.toggle() }
            record.append(character)
        }
        if !record.isEmpty { records.append(record) }
        return records
    }

    /// A busy tenant polled six times: many changes per user.
    static func filledFixture(users: Int = 40) async throws -> OperatorFixture {
        let fixture = try await OperatorFixture(users: users, changeProbability: 0.4)
        try await fixture.poll(cycles: 6)
        return fixture
    }

    @Test("current lists every tracked user, filters by availability and by user (UPN through Graph)")
    func current() async throws {
        let fixture = try await Self.filledFixture()
        defer { Task { await fixture.stop() } }
        let reader = try HistoryReader(path: fixture.database)
        let all = try await fixture.run(["current", "--db", fixture.database, "--json"])
        #expect(all.status == 0, "\(all.standardError)")
        #expect(Set(all.jsonRows.compactMap { $0["user_id"] as? String }) == Set(fixture.simulator.userIDs))
        let available = try reader.integer("SELECT count(*) FROM presence_current WHERE availability = 'Available'")
        let filtered = try await fixture.run([
            "current", "--db", fixture.database, "--availability", "available", "--json",
        ])
        #expect(filtered.jsonRows.count == available)
        #expect(filtered.jsonRows.allSatisfy { $0["availability"] as? String == "Available" })
        // CSV: one record per user; status messages with line breaks stay inside their quoted field.
        let csv = try await fixture.run(["current", "--db", fixture.database, "--csv"])
        #expect(csv.standardOutput.hasPrefix("user_id,availability,activity,since,in_state,status_message,"))
        let records = csv.standardOutput.components(separatedBy: "\r\n").filter {
            $0.count > 36 && UserIDs.isObjectID(String($0.prefix(36))) && $0.dropFirst(36).hasPrefix(",")
        }
        #expect(records.count == fixture.simulator.userIDs.count)
        let one = try await fixture.run(
            ["current", "--config", fixture.config, "--user", "user00003@simulated.example"])
        #expect(one.status == 0, "\(one.standardError)")
        let table = one.standardOutput.split(separator: "\n")
        #expect(table.count == 2)
        #expect(table.first?.hasPrefix("USER ID") == true)
        #expect(table.last?.hasPrefix(fixture.simulator.userIDs[3]) == true)
    }

    @Test("history prints one user's timeline; times in the local zone by default, UTC with --utc")
    func history() async throws {
        let fixture = try await Self.filledFixture()
        defer { Task { await fixture.stop() } }
        let id = fixture.simulator.userIDs[5]
        let states = try HistoryReader(path: fixture.database).states(of: id)
        let csv = try await fixture.run(["history", id, "--db", fixture.database, "--csv", "--utc"])
        #expect(csv.status == 0, "\(csv.standardError)")
        // Records, not lines: a status message may hold a CR LF of its own, inside its quoted field.
        #expect(Self.csvRecords("a,\"x\r\ny\"\r\nb\r\n") == ["a,\"x\r\ny\"", "b"])
        let lines = Self.csvRecords(csv.standardOutput)
        #expect(lines.count == states.count + 1)
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("20") && $0.prefix(24).hasSuffix("Z") })
        let kolkata = try await fixture.run(["history", id, "--db", fixture.database], timeZone: "Asia/Kolkata")
        #expect(kolkata.standardOutput.contains(" +05:30"))
        #expect(kolkata.standardOutput.split(separator: "\n").last?.contains("  now  ") == true)
        let future = try await fixture.run(["history", id, "--db", fixture.database, "--since", "2999-01-01", "--json"])
        #expect(future.jsonRows.count == 1, "only the open state reaches into the future")
        let bad = try await fixture.run(["history", id, "--db", fixture.database, "--since", "last tuesday"])
        #expect(bad.status == 1)
        #expect(bad.standardError.contains("--since 'last tuesday' is not a time"))
    }

    @Test("since says since when and when last Available; unknown users are 'not tracked'; UPNs need --config")
    func since() async throws {
        let fixture = try await Self.filledFixture()
        defer { Task { await fixture.stop() } }
        let database = try HistoryDatabase(path: fixture.database)
        let id = fixture.simulator.userIDs[7]
        let answer = try #require(try database.since(id))
        let text = try await fixture.run(["since", id, "--db", fixture.database, "--utc"])
        #expect(text.status == 0, "\(text.standardError)")
        #expect(
            text.standardOutput.contains(
                "\(answer.current.state.availability) (\(answer.current.state.activity)) since "))
        #expect(text.standardOutput.contains("last Available: "))
        let json = try await fixture.run(["since", id, "--db", fixture.database, "--json", "--utc"])
        let row = try #require(json.jsonRows.first)
        #expect(row["since"] as? String == answer.current.since.iso8601)
        switch answer.lastAvailable {
        case .now: #expect(row["last_available"] as? String == "now")
        case .at(let timestamp): #expect(row["last_available"] as? String == timestamp.iso8601)
        case .never: #expect(row["last_available"] is NSNull)
        }
        let ghost = try await fixture.run(["since", "00000000-0000-4000-8000-00000000dead", "--db", fixture.database])
        #expect(ghost.status == 1)
        #expect(ghost.standardError.contains("00000000-0000-4000-8000-00000000dead is not tracked"))
        let upn = try await fixture.run(["since", "user00001@simulated.example", "--db", fixture.database])
        #expect(upn.status == 1)
        #expect(upn.standardError.contains("needs --config FILE"))
        let unknownUPN = try await fixture.run(["since", "user09999@simulated.example", "--config", fixture.config])
        #expect(unknownUPN.status == 1)
        #expect(unknownUPN.standardError.contains("no user 'user09999@simulated.example' in the directory"))
    }

    @Test("report: each user's time per state adds up exactly to the window, by availability and by activity")
    func report() async throws {
        let fixture = try await Self.filledFixture()
        defer { Task { await fixture.stop() } }
        let reader = try HistoryReader(path: fixture.database)
        let latestStart = try #require(
            try reader.connection.prepare(
                "SELECT max(first) FROM (SELECT min(valid_from) AS first FROM presence_history GROUP BY user_id)"
            ).queryOne { $0.text(0) } ?? nil)
        let from = try #require(Timestamp(iso8601: latestStart))
        let to = Timestamp.now()
        let window = to.millisecondsSinceEpoch - from.millisecondsSinceEpoch
        #expect(window > 0)
        for grouping in ReportGrouping.allCases {
            let result = try await fixture.run(
                [
                    "report", "--db", fixture.database, "--json", "--since", from.iso8601, "--until", to.iso8601,
                    "--by", grouping.rawValue,
                ])
            #expect(result.status == 0, "\(result.standardError)")
            var totals: [String: Int64] = [:]
            for row in result.jsonRows {
                let user = try #require(row["user_id"] as? String)
                let seconds = try #require(row["time"] as? Double)
                totals[user, default: 0] += Int64((seconds * 1000).rounded())
                #expect(Int64(((row["covered"] as? Double ?? 0) * 1000).rounded()) == window)
                #expect(row[grouping.rawValue] is String)
            }
            #expect(Set(totals.keys) == Set(fixture.simulator.userIDs))
            #expect(totals.values.allSatisfy { $0 == window }, "per-user totals must equal the window (\(window) ms)")
        }
        // The library answer is exact to the millisecond, with open intervals ending at `now`.
        let database = try HistoryDatabase(path: fixture.database)
        let now = Timestamp(millisecondsSinceEpoch: to.millisecondsSinceEpoch + 5_000)
        let report = try database.report(from: from, to: now, now: now, by: .activity)
        #expect(
            report.coveredMilliseconds.allSatisfy {
                $0.milliseconds == now.millisecondsSinceEpoch - from.millisecondsSinceEpoch
            })
        let text = try await fixture.run(["report", "--db", fixture.database, "--since", "1h"])
        #expect(text.standardOutput.hasPrefix("window "))
        #expect(text.standardOutput.contains("  total  "))
    }

    @Test("prune deletes closed rows past the age, keeps every current state, and reclaims pages")
    func prune() async throws {
        let fixture = try await Self.filledFixture(users: 300)
        defer { Task { await fixture.stop() } }
        let reader = try HistoryReader(path: fixture.database)
        let closed = try reader.integer("SELECT count(*) FROM presence_history WHERE valid_to IS NOT NULL")
        let currentBefore = try reader.integer("SELECT count(*) FROM presence_current")
        #expect(closed > 100)
        #expect(try reader.integer("PRAGMA auto_vacuum") == 2, "new databases are created with incremental vacuum")
        let nothing = try await fixture.run(["prune", "--older-than", "1d", "--db", fixture.database])
        #expect(nothing.standardOutput.hasPrefix("deleted 0 history rows"))
        try await Task.sleep(for: .milliseconds(1_200))
        let result = try await fixture.run(["prune", "--older-than", "1s", "--config", fixture.config])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.hasPrefix("deleted \(closed) history rows that ended before "))
        #expect(result.standardOutput.contains("pages to the file system"))
        let after = try HistoryReader(path: fixture.database)
        #expect(try after.integer("SELECT count(*) FROM presence_current") == currentBefore)
        #expect(try after.integer("SELECT count(*) FROM presence_history") == currentBefore)
        #expect(try after.invariantViolations() == [])
        // The daemon carries on after a prune.
        try await fixture.poll(cycles: 2)
        #expect(try HistoryReader(path: fixture.database).invariantViolations() == [])
        let bad = try await fixture.run(["prune", "--older-than", "soon", "--db", fixture.database])
        #expect(bad.status == 64)
    }

    @Test("backup writes a consistent copy that opens and matches, and never overwrites")
    func backup() async throws {
        let fixture = try await Self.filledFixture()
        defer { Task { await fixture.stop() } }
        let copy = fixture.directory.file("copy.db")
        let result = try await fixture.run(["backup", copy, "--db", fixture.database])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.hasPrefix("backed up \(fixture.database) to \(copy)"))
        let dump = { (path: String) throws -> [String] in
            var rows: [String] = []
            let connection = try Connection(path: path, mode: .readOnly)
            for table in ["presence_current", "presence_history", "poll_cycles", "store_info"] {
                try connection.prepare("SELECT * FROM \(table) ORDER BY 1").query { row in
                    rows.append((0..<row.count).map { "\(row.value($0))" }.joined(separator: "|"))
                }
            }
            return rows
        }
        #expect(try dump(copy) == dump(fixture.database))
        let check = try Connection(path: copy, mode: .readOnly).prepare("PRAGMA integrity_check").queryOne {
            $0.text(0)
        }
        #expect(check == "ok")
        let again = try await fixture.run(["backup", copy, "--db", fixture.database])
        #expect(again.status == 1)
        #expect(again.standardError.contains("already exists"))
        let history = try await fixture.run(["history", fixture.simulator.userIDs[0], "--db", copy, "--json"])
        #expect(
            history.jsonRows.count == (try HistoryReader(path: copy).states(of: fixture.simulator.userIDs[0]).count))
    }

    @Test("every history and presence command has --help with an example")
    func help() async throws {
        let fixture = try await OperatorFixture(users: 1, changeProbability: 0)
        defer { Task { await fixture.stop() } }
        for command in [
            ["current"], ["history"], ["since"], ["report"], ["prune"], ["backup"], ["presence"], ["presence", "get"],
            ["presence", "set"], ["presence", "clear"], ["presence", "set-preferred"], ["presence", "clear-preferred"],
            ["presence", "set-message"],
        ] {
            let result = try await fixture.run(command + ["--help"])
            #expect(result.status == 0)
            #expect(
                result.standardOutput.contains("Example: presence-sync \(command.joined(separator: " "))"), "\(command)"
            )
        }
    }
}

/// Automatic retention: configuration and the daemon-side prune.
@Suite("history retention")
struct HistoryRetentionTests {
    @Test("history.retentionDays is optional, validated, and unknown keys under history are refused")
    func configuration() throws {
        let base: [String: Any] = [
            "tenantId": "contoso.onmicrosoft.com", "clientId": "11111111-2222-3333-4444-555555555555",
            "credential": ["environment": "SECRET"], "users": ["fa8bf3dc-eca7-46b7-bad1-db199b62afc3"],
        ]
        #expect(try SimulatorSetup.configuration(base).history.retentionDays == nil)
        var document = base
        document["history"] = ["retentionDays": 180]
        #expect(try SimulatorSetup.configuration(document).history.retentionDays == 180)
        document["history"] = ["retentionDays": 0]
        #expect(throws: ConfigError.self) { try SimulatorSetup.configuration(document) }
        document["history"] = ["retentionDay": 10]
        do {
            _ = try SimulatorSetup.configuration(document)
            Issue.record("an unknown key must be refused")
        } catch let error as ConfigError {
            #expect(error.key == "history.retentionDay")
        }
    }

    @Test("the daemon's retention prunes through the store's queue and keeps the current state")
    func retentionPrunes() async throws {
        let fixture = try await OperatorFixture(
            users: 50, changeProbability: 0.5, extra: ["history": ["retentionDays": 1]])
        defer { Task { await fixture.stop() } }
        try await fixture.poll(cycles: 4)
        let reader = try HistoryReader(path: fixture.database)
        #expect(try reader.integer("SELECT count(*) FROM presence_history WHERE valid_to IS NOT NULL") > 0)
        let store = try PresenceStore(path: fixture.database, logger: .init(label: "retention"))
        let twoDaysLater = Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch + 2 * 86_400_000)
        let result = try #require(
            await HistoryRetention(store: store, days: 1, logger: .init(label: "retention")).pruneOnce(
                now: twoDaysLater))
        await store.close()
        #expect(result.rowsDeleted > 0)
        #expect(result.incrementalVacuum)
        let after = try HistoryReader(path: fixture.database)
        #expect(try after.integer("SELECT count(*) FROM presence_history") == 50)
        #expect(try after.integer("SELECT count(*) FROM presence_current") == 50)
        #expect(try after.invariantViolations() == [])
    }
}
