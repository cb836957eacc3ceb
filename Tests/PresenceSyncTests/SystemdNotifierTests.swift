import Foundation
import Logging
import TestSupport
import Testing

@testable import PresenceSync

/// The notification protocol against a real unix datagram socket, in-process.
@Suite("systemd notify")
struct SystemdNotifierTests {
    @Test("READY, STATUS, RELOADING, STOPPING and WATCHDOG reach a socket named by a path")
    func pathSocket() async throws {
        let directory = TemporaryDirectory()
        let receiver = try NotifySocketReceiver(path: directory.file("notify"))
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.address])
        #expect(notifier.isEnabled)
        notifier.ready(status: "started")
        notifier.status("cycle 1: 3 users")
        notifier.reloading()
        notifier.watchdog()
        notifier.stopping()
        #expect(await receiver.waitFor("STOPPING=1"))
        let messages = receiver.messages
        #expect(messages.count == 5)
        #expect(messages.first == "READY=1\nSTATUS=started")
        #expect(messages.dropFirst().first == "STATUS=cycle 1: 3 users")
        let reloading = messages[2].split(separator: "\n")
        #expect(reloading.first == "RELOADING=1")
        let monotonic = reloading.last.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) } ?? 0
        #expect(monotonic > 0 && monotonic <= SystemdNotifier.monotonicMicroseconds())
        #expect(messages[3] == "WATCHDOG=1")
    }

    @Test("an abstract socket name ('@...') works too")
    func abstractSocket() async throws {
        let receiver = try NotifySocketReceiver(
            path: "@presence-sync-test-\(getpid())-\(UUID().uuidString.prefix(8))")
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.address])
        notifier.ready()
        #expect(await receiver.waitFor("READY=1"))
    }

    @Test("without NOTIFY_SOCKET every call is a no-op; relative or oversized names are ignored")
    func disabled() {
        #expect(!SystemdNotifier(environment: [:]).isEnabled)
        #expect(!SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative/path"]).isEnabled)
        #expect(
            !SystemdNotifier(environment: ["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 200)])
                .isEnabled)
        SystemdNotifier(environment: [:]).ready(status: "nobody listens")
    }

    @Test(
        "WATCHDOG_USEC sets the interval unless WATCHDOG_PID names another process",
        arguments: [
            (["WATCHDOG_USEC": "2000000"], Duration?.some(.seconds(2))),
            (["WATCHDOG_USEC": "500000", "WATCHDOG_PID": "4242"], Duration?.some(.milliseconds(500))),
            (["WATCHDOG_USEC": "500000", "WATCHDOG_PID": "4243"], nil),
            (["WATCHDOG_USEC": "0"], nil),
            (["WATCHDOG_USEC": "soon"], nil),
            ([:], nil),
        ] as [([String: String], Duration?)])
    func watchdogInterval(environment: [String: String], expected: Duration?) {
        #expect(SystemdNotifier.watchdogInterval(environment: environment, pid: 4242) == expected)
    }

    @Test("the watchdog pings while the loop makes progress and stops once it is overdue")
    func watchdogFollowsProgress() async throws {
        let directory = TemporaryDirectory()
        let receiver = try NotifySocketReceiver(path: directory.file("notify"))
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.address])
        // Deadlines are set explicitly (not raced against the clock), so a busy machine cannot flip the outcome.
        let watchdog = ProgressWatchdog(initialAllowance: .seconds(60))
        let pinger = Task {
            await watchdog.run(notifier: notifier, interval: .milliseconds(60), logger: Logger(label: "t"))
        }
        defer { pinger.cancel() }
        #expect(await receiver.waitFor("WATCHDOG=1", count: 3))
        // The loop's promised step is overdue: the pings stop.
        watchdog.expectProgress(within: .zero)
        #expect(!watchdog.isMakingProgress())
        try await Task.sleep(for: .milliseconds(200))
        let stalled = receiver.occurrences(of: "WATCHDOG=1")
        try await Task.sleep(for: .milliseconds(400))
        #expect(receiver.occurrences(of: "WATCHDOG=1") == stalled)
        // Progress resumes: so do the pings.
        watchdog.expectProgress(within: .seconds(60))
        #expect(await receiver.waitFor("WATCHDOG=1", count: stalled + 2))
    }
}
