import Foundation
import Logging
import PresenceSync

/// Exit status for configuration errors (sysexits.h EX_CONFIG), which systemd and scripts recognise.
let exitConfigurationError: Int32 = 78

/// Sends logs to standard error at `level`; standard output is reserved for change events.
func bootstrapLogging(level: Logger.Level) -> Logger {
    bootstrapLogging(control: LogLevelControl(level))
}

/// Sends logs to standard error at the level `control` holds (a reload may change it). Under systemd with
/// standard error going to the journal, lines carry syslog priority prefixes so journald keeps their levels.
func bootstrapLogging(control: LogLevelControl) -> Logger {
    let format = StandardErrorLogHandler.format(environment: ProcessInfo.processInfo.environment)
    LoggingSystem.bootstrap { label in
        StandardErrorLogHandler(label: label, format: format, control: control)
    }
    return Logger(label: "presence-sync")
}

/// Prints a one-line error to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data("presence-sync: \(message)\n".utf8))
}

/// Loads a config file, or prints the error and exits with EX_CONFIG.
func loadConfigurationOrExit(_ path: String) -> Configuration {
    do {
        return try Configuration.load(file: path)
    } catch {
        printError(error.description)
        exit(exitConfigurationError)
    }
}
