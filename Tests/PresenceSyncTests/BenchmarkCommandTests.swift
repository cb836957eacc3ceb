import Foundation
import TestSupport
import Testing

/// `presence-sync benchmark` end to end, small: the simulator and two daemons (the run, then a restart on the same
/// database) as real child processes of the benchmark, itself a child of the test.
@Suite("benchmark command", .serialized)
struct BenchmarkCommandTests {
    @Test("measures every cycle of the run and of a restart on the same database, and reports both")
    func runAndRestart() async throws {
        let directory = TemporaryDirectory()
        let json = directory.file("results.json")
        let benchmark = try ChildProcess([
            "benchmark", "--users", "300", "--cycles", "3", "--interval", "1", "--restart-cycles", "2", "--json", json,
        ])
        #expect(await benchmark.waitForExit() == 0, "\(benchmark.standardError)")
        #expect(benchmark.standardOutput.contains("- restart on the same database (2 cycles): first cycle CPU"))

        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let size = try #require((document["sizes"] as? [[String: Any]])?.first)
        let records = try #require(size["records"] as? [[String: Any]])
        let restartRecords = try #require(size["restartRecords"] as? [[String: Any]])
        #expect(records.count == 3)
        #expect(restartRecords.count == 2)
        #expect(records.allSatisfy { $0["observed"] as? Int == 300 })
        #expect(restartRecords.allSatisfy { $0["observed"] as? Int == 300 })
        #expect(records.first?["changes"] as? Int == 300, "the first run records every user once")
        let firstAfterRestart = try #require(restartRecords.first?["changes"] as? Int)
        #expect(firstAfterRestart < 150, "a restart continues from the file instead of recording everyone again")
        let restart = try #require(size["restart"] as? [String: Any])
        #expect(restart["cycles"] as? Int == 2)
        let peak = try #require(restart["peakResidentMiB"] as? Double)
        #expect(peak > 1 && peak < 1024)
    }
}
