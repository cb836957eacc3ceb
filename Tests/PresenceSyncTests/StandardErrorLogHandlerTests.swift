import Logging
import Synchronization
import Testing

@testable import PresenceSync

/// Log lines for journald (priority prefixes) and for people (timestamps), and the shared level.
@Suite("standard error log handler")
struct StandardErrorLogHandlerTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    @Test(
        "journald lines start with the syslog priority of their level",
        arguments: [
            (Logger.Level.critical, "<2>"), (.error, "<3>"), (.warning, "<4>"), (.notice, "<5>"), (.info, "<6>"),
            (.debug, "<7>"), (.trace, "<7>"),
        ])
    func journalPrefixes(level: Logger.Level, prefix: String) {
        let line = StandardErrorLogHandler.line(
            level: level, message: "cycle finished", metadata: ["cycle": "3", "error": "two words"],
            label: "presence-sync", format: .journal)
        #expect(line == "\(prefix)cycle finished cycle=3 error=\"two words\"\n")
    }

    @Test("every line of a multi-line message keeps its priority in journal format")
    func multiLine() {
        let line = StandardErrorLogHandler.line(
            level: .warning, message: "first\nsecond", metadata: [:], label: "x", format: .journal)
        #expect(line == "<4>first\n<4>second\n")
    }

    @Test("plain lines carry time, level and label")
    func plain() {
        let line = StandardErrorLogHandler.line(
            level: .info, message: "presence-sync started", metadata: ["users": "5"], label: "presence-sync",
            format: .plain, now: Timestamp(millisecondsSinceEpoch: 0))
        #expect(line == "1970-01-01T00:00:00.000Z info presence-sync: presence-sync started users=5\n")
    }

    @Test("JOURNAL_STREAM counts only when it names standard error (or cannot be checked)")
    func journalDetection() {
        #expect(StandardErrorLogHandler.isJournal("8:1234", device: 8, inode: 1234))
        #expect(!StandardErrorLogHandler.isJournal("8:1234", device: 8, inode: 99))
        #expect(StandardErrorLogHandler.isJournal("odd", device: 1, inode: 1))
        #expect(StandardErrorLogHandler.format(environment: [:]) == .plain)
    }

    @Test("the level is shared: a reload changing it affects loggers made earlier")
    func sharedLevel() {
        let lines = Lines()
        let control = LogLevelControl(.warning)
        let logger = Logger(label: "t") { label in
            StandardErrorLogHandler(label: label, format: .journal, control: control, output: lines.append)
        }
        logger.info("hidden")
        logger.warning("shown")
        control.level = .debug
        logger.debug("now shown")
        #expect(lines.all == ["<4>shown\n", "<7>now shown\n"])
    }
}
