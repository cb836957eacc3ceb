import ArgumentParser
import Foundation
import Logging
import PresenceSync

/// `presence-sync run`: the daemon against a real tenant (or any endpoint the config names).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon: poll presence, record changes, emit change events.",
        discussion: "Example: presence-sync run --config /etc/presence-sync/config.json"
    )

    @Option(name: .long, help: "The configuration file (JSON).")
    var config: String

    @Option(name: .long, help: "Log level, overriding the config (trace, debug, info, notice, warning, error).")
    var logLevel: String?

    @Option(name: .long, help: "Stop after this many poll cycles (for tests and benchmarks).")
    var maxCycles: Int?

    func validate() throws {
        if let maxCycles, maxCycles < 1 { throw ValidationError("--max-cycles must be at least 1") }
        if let logLevel, (try? Configuration.parseLogLevel(logLevel, key: "--log-level")) == nil {
            throw ValidationError(
                "--log-level '\(logLevel)' is not a log level (trace, debug, info, notice, warning, error, critical)")
        }
    }

    func run() async throws {
        MemoryTuning.limitMallocArenas()
        let signals = ShutdownSignals()
        let configuration = loadConfigurationOrExit(config)
        let override = try? Configuration.parseLogLevel(logLevel, key: "--log-level")
        let control = LogLevelControl(override ?? configuration.logLevel)
        let logger = bootstrapLogging(control: control)
        var options = Daemon.Options(maxCycles: maxCycles)
        options.configurationFile = config
        // --log-level wins over the file, on reload too.
        options.logLevelControl = override == nil ? control : nil
        let daemon = Daemon(configuration: configuration, options: options, logger: logger)
        do {
            try await daemon.run(signals: signals)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
    }
}
