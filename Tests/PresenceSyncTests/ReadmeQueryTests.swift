import Foundation
import GraphSimulator
import Logging
import PresenceSync
import SQLite
import TestSupport
import Testing

/// The SQL the README shows operators must keep working against the schema the daemon writes.
@Suite("README queries")
struct ReadmeQueryTests {
    static var readme: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""
    }

    /// Every ```sql block in the README.
    static var queries: [String] {
        readme.components(separatedBy: "```sql\n").dropFirst().compactMap { $0.components(separatedBy: "```").first }
    }

    @Test("every SQL example in the README runs against a database filled by a real daemon run")
    func examplesRun() async throws {
        #expect(Self.queries.count >= 4)
        var settings = SimulatorConfiguration()
        settings.userCount = 200
        settings.changeProbability = 0.5
        let simulator = GraphSimulator(configuration: settings)
        _ = try await simulator.start()
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let database = directory.file("presence.db")
        let configuration = try SimulatorSetup.configuration(
            SimulatorSetup.document(for: simulator, settings: settings, database: database, interval: 0.1))
        var options = Daemon.Options(maxCycles: 4)
        options.environment = [SimulatorSetup.secretVariable: settings.clientSecret]
        try await Daemon(configuration: configuration, options: options, logger: Logger(label: "test")).run()
        // A second run without the first ten users, so that some tracking periods are closed.
        var fewer = configuration
        fewer.users = Array(configuration.users.dropFirst(10))
        options.maxCycles = 1
        try await Daemon(configuration: fewer, options: options, logger: Logger(label: "test")).run()

        let db = try Connection(path: database, mode: .readOnly)
        var rowsPerQuery: [Int] = []
        for query in Self.queries {
            var rows = 0
            try db.prepare(query.trimmingCharacters(in: .whitespacesAndNewlines)).query { _ in rows += 1 }
            rowsPerQuery.append(rows)
        }
        #expect(rowsPerQuery.allSatisfy { $0 > 0 }, "each example returns rows on a busy tenant: \(rowsPerQuery)")
    }
}
