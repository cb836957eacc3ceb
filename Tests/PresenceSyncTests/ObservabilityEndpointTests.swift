import Foundation
import GraphSimulator
import PresenceSync
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The real binary with `observability.listen` on loopback, scraped over HTTP while it polls the simulator.
@Suite("Metrics and health endpoint", .serialized)
struct ObservabilityEndpointTests {
    @Test("/metrics shows real cycle values, /healthz answers ok, /readyz turns 200 after a successful cycle")
    func scrapeAfterCycles() async throws {
        let users = 30
        let (simulator, settings) = try await DaemonProcessTests.startSimulator(users: users, changeProbability: 0.5)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let port = try LoopbackSocket.freePort()
        var document = SimulatorSetup.document(
            for: simulator, settings: settings, database: directory.file("p.db"), interval: 0.2, batchSize: 10)
        document["logLevel"] = "info"
        document["events"] = ["stdout": true]
        document["observability"] = ["listen": "127.0.0.1:\(port)"]
        let config = try SimulatorSetup.writeConfig(document, in: directory)
        let daemon = try ChildProcess(
            ["run", "--config", config], environment: DaemonProcessTests.environment(secret: settings.clientSecret))
        defer { daemon.send(SIGKILL) }

        #expect(await daemon.waitForStandardError("metrics and health endpoint listening"))
        #expect(await daemon.waitForStandardError("cycle finished", count: 3))
        let base = "http://127.0.0.1:\(port)"
        let health = try await Self.get("\(base)/healthz")
        #expect(health.status == 200)
        #expect(health.body == "ok\n")
        let ready = try await Self.get("\(base)/readyz")
        #expect(ready.status == 200, "readyz: \(ready.body)")

        let scrape = try await Self.get("\(base)/metrics")
        #expect(scrape.status == 200)
        let metrics = scrape.body
        #expect(try #require(Self.value("presence_sync_cycles_total", in: metrics)) >= 2)
        #expect(Self.value("presence_sync_users_tracked", in: metrics) == Double(users))
        #expect(try #require(Self.value("presence_sync_changes_total", in: metrics)) > 0)
        #expect(Self.value("presence_sync_missing_users_total", in: metrics) == 0)
        #expect(Self.value("presence_sync_failed_batches_total", in: metrics) == 0)
        #expect(try #require(Self.value("presence_sync_graph_responses_total{status=\"200\"}", in: metrics)) >= 6)
        #expect(try #require(Self.value("presence_sync_token_sign_ins_total", in: metrics)) >= 1)
        #expect(Self.value("presence_sync_token_sign_in_failures_total", in: metrics) == 0)
        #expect(Self.value("presence_sync_budget_waits_total", in: metrics) != nil)
        let lastCycle = try #require(Self.value("presence_sync_last_successful_cycle_timestamp_seconds", in: metrics))
        #expect(abs(lastCycle - Date().timeIntervalSince1970) < 60)
        #expect(Self.value("presence_sync_outbox_backlog{sink=\"stdout\"}", in: metrics) != nil)
        #expect(metrics.contains("presence_sync_cycle_duration_seconds_bucket{le=\""))
        #expect(metrics.contains("presence_sync_cycle_duration_seconds_count "))
        #expect(try #require(Self.value("presence_sync_batch_latency_seconds_count", in: metrics)) >= 6)
        #expect(metrics.contains("presence_sync_batch_latency_seconds_bucket{le=\"+Inf\"}"))

        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
        #expect(!daemon.standardError.contains(settings.clientSecret))
    }

    @Test("/readyz answers 503 with a reason while sign-in fails; /healthz still answers ok")
    func notReadyWithWrongSecret() async throws {
        let (simulator, settings) = try await DaemonProcessTests.startSimulator(users: 5, changeProbability: 0)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let port = try LoopbackSocket.freePort()
        var document = SimulatorSetup.document(
            for: simulator, settings: settings, database: directory.file("p.db"), interval: 0.2)
        document["logLevel"] = "info"
        document["observability"] = ["listen": "127.0.0.1:\(port)"]
        let config = try SimulatorSetup.writeConfig(document, in: directory)
        let daemon = try ChildProcess(
            ["run", "--config", config], environment: DaemonProcessTests.environment(secret: "not-the-secret"))
        defer { daemon.send(SIGKILL) }

        #expect(await daemon.waitForStandardError("metrics and health endpoint listening"))
        #expect(await daemon.waitForStandardError("cycle finished", count: 2))
        let base = "http://127.0.0.1:\(port)"
        #expect(try await Self.get("\(base)/healthz").status == 200)
        let ready = try await Self.get("\(base)/readyz")
        #expect(ready.status == 503)
        #expect(ready.body.contains("sign-in"))
        #expect(ready.body.contains("AADSTS7000215"), "readyz: \(ready.body)")
        #expect(ready.body.split(separator: "\n").count == 1)
        let metrics = try await Self.get("\(base)/metrics").body
        #expect(try #require(Self.value("presence_sync_token_sign_in_failures_total", in: metrics)) >= 1)
        #expect(Self.value("presence_sync_sign_in_failing", in: metrics) == 1)
        #expect(Self.value("presence_sync_last_successful_cycle_timestamp_seconds", in: metrics) == 0)

        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
    }

    @Test("an address already in use stops the daemon with exit 1 and a line naming observability.listen")
    func addressInUse() async throws {
        let (simulator, settings) = try await DaemonProcessTests.startSimulator(users: 5, changeProbability: 0)
        defer { Task { await simulator.stop() } }
        let taken = try LoopbackSocket.listening()
        defer { close(taken.fd) }
        let directory = TemporaryDirectory()
        var document = SimulatorSetup.document(
            for: simulator, settings: settings, database: directory.file("p.db"), interval: 0.2)
        document["observability"] = ["listen": "127.0.0.1:\(taken.port)"]
        let config = try SimulatorSetup.writeConfig(document, in: directory)
        let daemon = try ChildProcess(
            ["run", "--config", config], environment: DaemonProcessTests.environment(secret: settings.clientSecret))
        defer { daemon.send(SIGKILL) }
        #expect(await daemon.waitForExit() == 1)
        #expect(daemon.standardError.contains("observability.listen 127.0.0.1:\(taken.port): cannot serve"))
    }

    // MARK: - Helpers

    /// The value of the sample whose name (with labels) is exactly `series`.
    static func value(_ series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    static func get(_ url: String) async throws -> (status: Int, body: String) {
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(from: try #require(URL(string: url)))
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}
