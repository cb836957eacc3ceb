import Foundation
import Logging
import Synchronization

/// The log level every `StandardErrorLogHandler` of the process obeys, changeable while running (reload).
///
/// Shared by reference so that a configuration reload can raise or lower the level of every logger at once;
/// setting `logLevel` on any logger backed by these handlers therefore changes it for all of them.
public final class LogLevelControl: Sendable {
    private let current: Mutex<Logger.Level>

    /// Starts at `level` (the config's `logLevel`, or `--log-level`).
    public init(_ level: Logger.Level) { current = Mutex(level) }

    /// The level now in force.
    public var level: Logger.Level {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}

/// A swift-log handler writing one line per record to standard error, shaped for journald when it is there.
///
/// Under systemd with standard error connected to the journal (`$JOURNAL_STREAM`), each line starts with a
/// syslog priority prefix (`<3>` error, `<4>` warning, `<6>` info, `<7>` debug ...) so journald keeps levels
/// and adds its own timestamp. Otherwise lines are plain and readable: time, level, label, message, metadata.
/// Standard output is never touched: it carries change events.
public struct StandardErrorLogHandler: LogHandler {
    /// Whether lines get syslog priority prefixes (journald) or timestamps (terminals, files).
    public enum Format: Sendable {
        case journal
        case plain
    }

    /// Metadata attached to every record of this logger (swift-log's contract).
    public var metadata: Logger.Metadata = [:]
    /// Supplies task-local metadata, merged into each record.
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: Format
    private let control: LogLevelControl
    private let output: @Sendable (String) -> Void

    /// A handler for `label`; `output` receives each finished line, newline included (tests capture it).
    public init(
        label: String, format: Format, control: LogLevelControl,
        output: @escaping @Sendable (String) -> Void = StandardErrorLogHandler.writeToStandardError
    ) {
        self.label = label
        self.format = format
        self.control = control
        self.output = output
    }

    /// The level is shared through the `LogLevelControl`: setting it here sets it for every handler.
    public var logLevel: Logger.Level {
        get { control.level }
        set { control.level = newValue }
    }

    /// One metadata value of this logger.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one record as one line (several for a multi-line message in journal format).
    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        output(
            Self.line(level: event.level, message: "\(event.message)", metadata: merged, label: label, format: format))
    }

    /// Formats one record; pure, so the format is tested directly.
    static func line(
        level: Logger.Level, message: String, metadata: Logger.Metadata, label: String, format: Format,
        now: Timestamp = .now()
    ) -> String {
        var text = message
        for key in metadata.keys.sorted() { text += " \(key)=\(quoted("\(metadata[key]!)"))" }
        switch format {
        case .journal:
            // Every line of a multi-line message carries the prefix, so journald files each at the right level.
            let prefix = "<\(priority(level))>"
            return text.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 + "\n" }.joined()
        case .plain:
            return "\(now.iso8601) \(level.rawValue) \(label): \(text)\n"
        }
    }

    /// The syslog priority journald files a record under (sd-daemon(3)).
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// Metadata values with spaces or quotes are quoted so a line splits back into its fields.
    private static func quoted(_ value: String) -> String {
        guard value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Chooses journal format when `$JOURNAL_STREAM` names standard error's device and inode (systemd.exec(5));
    /// a value that does not parse still counts, since it can only come from systemd.
    public static func format(environment: [String: String]) -> Format {
        guard let value = environment["JOURNAL_STREAM"], !value.isEmpty else { return .plain }
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return .plain }
        return isJournal(value, device: UInt64(status.st_dev), inode: UInt64(status.st_ino)) ? .journal : .plain
    }

    /// True when `JOURNAL_STREAM`'s `device:inode` matches, or does not parse as numbers.
    static func isJournal(_ value: String, device: UInt64, inode: UInt64) -> Bool {
        let parts = value.split(separator: ":")
        guard parts.count == 2, let expectedDevice = UInt64(parts[0]), let expectedInode = UInt64(parts[1]) else {
            return true
        }
        return expectedDevice == device && expectedInode == inode
    }

    /// Writes `line` to file descriptor 2 with write(2); one lock keeps concurrent lines from interleaving.
    @Sendable public static func writeToStandardError(_ line: String) {
        standardErrorLock.withLock { _ in
            // A log line that cannot be written has nowhere else to go: the failure is dropped.
            _ = Array(line.utf8).withUnsafeBytes { FileDescriptorOutput.writeAll($0, to: STDERR_FILENO) }
        }
    }

    private static let standardErrorLock = Mutex<Void>(())
}
