import Foundation
import Logging
import PresenceSync

/// Exit status for configuration errors (sysexits.h EX_CONFIG), which systemd and scripts recognise.
let exitConfigurationError: Int32 = 78

/// Sends logs to standard error at `level`; standard output is reserved for change events.
func bootstrapLogging(level: Logger.Level) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
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
