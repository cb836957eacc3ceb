import Foundation

/// The PostgreSQL server that the delivery benchmark's `postgresql` mode mirrors into: the operator's, never one
/// the benchmark starts.
///
/// Each run mirrors into a schema of its own (`bench_<random>`), dropped at the end, so repeated runs against one
/// database measure the same thing: a mirror that creates its tables and writes the whole backlog into empty ones.
/// The benchmark's own checks go through `psql`, with the same password as the daemon.
public struct DeliveryBenchmarkPostgres: Sendable {
    /// The environment variable holding the password, read by the daemon (its config names it) and by `psql`.
    public static let passwordVariable = "PRESENCE_SYNC_BENCH_PG_PASSWORD"

    /// The connection URL without a password, as `events.postgresql[].url` takes it.
    public var url: String
    /// The schema of this run.
    public var schema: String
    /// Changes per PostgreSQL transaction (`maxBatchEvents`); nil: the daemon's default.
    public var maxBatchEvents: Int?

    public init(url: String, maxBatchEvents: Int? = nil) {
        self.url = url
        self.schema = "bench_" + String(UInt32.random(in: .min ... .max), radix: 16)
        self.maxBatchEvents = maxBatchEvents
    }

    /// The `events.postgresql` entry of the daemon's config; the password is named only when the variable is set
    /// (a server that trusts local connections needs none).
    func mirrorEntry(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String: Any] {
        var entry: [String: Any] = ["name": "bench", "url": url, "schema": schema]
        if environment[Self.passwordVariable] != nil { entry["password"] = ["environment": Self.passwordVariable] }
        if let maxBatchEvents { entry["maxBatchEvents"] = maxBatchEvents }
        return entry
    }

    /// Mirrored history rows with ids up to `lastID`: the backlog, without what polling added after it.
    func historyRows(through lastID: Int64) throws -> Int {
        let rows = try psql("SELECT count(*) FROM \"\(schema)\".history WHERE id <= \(lastID)")
        guard let text = rows.first, let count = Int(text) else {
            throw BenchmarkError("psql answered \(rows) to a count of \(schema).history")
        }
        return count
    }

    /// Drops this run's schema and everything in it.
    func dropSchema() throws {
        _ = try psql("DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE")
    }

    /// Runs one statement through `psql` (unaligned, tuples only) and returns its output lines.
    private func psql(_ sql: String) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]
        var environment = ProcessInfo.processInfo.environment
        if let password = environment[Self.passwordVariable] { environment["PGPASSWORD"] = password }
        environment["PGCONNECT_TIMEOUT"] = "10"
        process.environment = environment
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw BenchmarkError("cannot run psql (install postgresql-client): \(error)")
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchmarkError(
                "psql failed on \(url): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return text.split(separator: "\n").map(String.init)
    }
}
