import Foundation
import GraphSimulator
import PresenceSync
import TestSupport
import Testing

/// The real binary under a stand-in systemd: the notify socket, the watchdog, SIGHUP reloads and SIGTERM.
@Suite("presence-sync as a systemd service", .serialized)
struct ServiceProcessTests {
    @Test("READY, per-cycle STATUS, WATCHDOG, RELOADING and STOPPING over NOTIFY_SOCKET; good and bad reloads")
    func notifyAndReload() async throws {
        let (simulator, settings) = try await DaemonProcessTests.startSimulator(users: 40, changeProbability: 0.2)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let receiver = try NotifySocketReceiver(path: directory.file("notify"))
        var document = SimulatorSetup.document(
            for: simulator, settings: settings, database: directory.file("p.db"), interval: 0.2, batchSize: 10)
        document["logLevel"] = "info"
        document["events"] = ["stdout": true]
        let config = try SimulatorSetup.writeConfig(document, in: directory)
        var environment = DaemonProcessTests.environment(secret: settings.clientSecret)
        environment["NOTIFY_SOCKET"] = receiver.address
        environment["WATCHDOG_USEC"] = "400000"
        environment.removeValue(forKey: "WATCHDOG_PID")
        let daemon = try ChildProcess(["run", "--config", config], environment: environment)

        #expect(await receiver.waitFor("READY=1"))
        #expect(await receiver.waitFor("STATUS=cycle 2 at "))
        #expect(receiver.messages.contains { $0.hasPrefix("STATUS=cycle 2 at ") && $0.contains("40 users") })
        #expect(receiver.messages.contains { $0.hasPrefix("STATUS=cycle 2 at ") && $0.contains("; backlog stdout ") })
        #expect(await receiver.waitFor("WATCHDOG=1", count: 3))

        // A good new config: fewer users, a longer interval. Applied from the next cycle.
        var smaller = document
        smaller["users"] = Array(simulator.userIDs.prefix(15))
        smaller["polling"] = ["intervalSeconds": 0.3, "batchSize": 5]
        _ = try SimulatorSetup.writeConfig(smaller, in: directory)
        daemon.send(SIGHUP)
        #expect(await daemon.waitForStandardError("configuration reloaded"))
        #expect(await receiver.waitFor("RELOADING=1"))
        #expect(await receiver.waitFor("READY=1", count: 2))
        let reloading = receiver.messages.first { $0.hasPrefix("RELOADING=1") } ?? ""
        #expect(reloading.contains("\nMONOTONIC_USEC="))
        #expect(daemon.standardError.contains("users=15"))
        let cyclesBefore = daemon.standardError.components(separatedBy: "cycle finished").count
        // A cycle in flight during the reload still has 40 users; the one after it sends its STATUS before the
        // next one logs, so two more cycles make the 15-user STATUS certain.
        #expect(await daemon.waitForStandardError("cycle finished", count: cyclesBefore + 2))
        #expect(receiver.messages.last { $0.hasPrefix("STATUS=cycle") }?.contains(" 15 users") == true)

        // A bad one: rejected with a line naming the key, and polling goes on with the running configuration.
        var bad = smaller
        bad["polling"] = ["intervalSeconds": 0.3, "batchSize": 1000]
        _ = try SimulatorSetup.writeConfig(bad, in: directory)
        daemon.send(SIGHUP)
        #expect(await daemon.waitForStandardError("configuration reload rejected"))
        #expect(daemon.standardError.contains("polling.batchSize"))
        #expect(await receiver.waitFor("READY=1", count: 3))
        let cyclesAfterBad = daemon.standardError.components(separatedBy: "cycle finished").count
        #expect(await daemon.waitForStandardError("cycle finished", count: cyclesAfterBad + 1))
        #expect(receiver.messages.last { $0.hasPrefix("STATUS=cycle") }?.contains(" 15 users") == true)

        daemon.send(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
        #expect(await receiver.waitFor("STOPPING=1"))
        #expect(!daemon.standardError.contains(settings.clientSecret))
        #expect(receiver.messages.allSatisfy { !$0.contains(settings.clientSecret) })
    }

    @Test("WATCHDOG_PID naming another process turns the pings off")
    func watchdogForAnotherProcess() async throws {
        let (simulator, settings) = try await DaemonProcessTests.startSimulator(users: 5, changeProbability: 0)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let receiver = try NotifySocketReceiver(path: directory.file("notify"))
        let document = SimulatorSetup.document(
            for: simulator, settings: settings, database: directory.file("p.db"), interval: 0.1)
        let config = try SimulatorSetup.writeConfig(document, in: directory)
        var environment = DaemonProcessTests.environment(secret: settings.clientSecret)
        environment["NOTIFY_SOCKET"] = receiver.address
        environment["WATCHDOG_USEC"] = "200000"
        environment["WATCHDOG_PID"] = "1"
        let daemon = try ChildProcess(["run", "--config", config, "--max-cycles", "5"], environment: environment)
        #expect(await daemon.waitForExit() == 0)
        #expect(receiver.occurrences(of: "READY=1") == 1)
        #expect(receiver.occurrences(of: "WATCHDOG=1") == 0)
        #expect(receiver.occurrences(of: "STOPPING=1") == 1)
    }
}
