import Logging

/// Re-reads the configuration file on SIGHUP (`systemctl reload`) and hands the result to the poll schedule.
///
/// A new file is validated exactly as at start, and its secret must be readable; if anything is wrong the
/// reload is rejected with one error line naming the key, and the running configuration stays in force. A
/// valid file's live settings (`Configuration.reloaded(with:)`) apply from the next cycle; settings that need
/// a restart are named in a warning. The event sinks follow the new file too: webhook secrets are read before
/// anything is applied (an unreadable one rejects the whole reload), then removed or changed endpoints stop
/// (saving their cursors) and new ones start; unchanged ones are not touched. systemd hears `RELOADING=1` first and `READY=1` when the reload is done,
/// whether it was applied or rejected.
struct ConfigurationReloader: Sendable {
    let file: String?
    let environment: [String: String]
    let logLevelControl: LogLevelControl?
    let schedule: PollSchedule
    let makePlan: @Sendable (Configuration) -> PollSchedule.Plan
    /// Re-resolves the users of the applied configuration at once.
    let tracker: UserTracker
    let readers: OutboxReaders
    let makeReaders: @Sendable (Configuration) throws(ConfigError) -> [OutboxReaders.Plan]
    let notifier: SystemdNotifier
    let watchdog: ProgressWatchdog
    let logger: Logger

    func reload() async {
        notifier.reloading()
        defer { notifier.ready(status: Self.statusLine(schedule.plan.configuration)) }
        guard let file else {
            logger.error("configuration reload refused: the daemon was not started from a configuration file")
            return
        }
        logger.info("reloading configuration", metadata: ["file": "\(file)"])
        let running = schedule.plan.configuration
        let reload: ConfigurationReload
        let readerPlans: [OutboxReaders.Plan]
        do {
            let new = try Configuration.load(file: file, environment: environment)
            if case .secret(let source) = new.credential { _ = try source.read(environment: environment) }
            reload = running.reloaded(with: new)
            readerPlans = try makeReaders(reload.configuration)
        } catch {
            logger.error(
                "configuration reload rejected; the running configuration stays in force",
                metadata: ["error": "\(error)"])
            return
        }
        if !reload.needsRestart.isEmpty {
            logger.warning(
                "configuration changes that take effect only after a restart were not applied",
                metadata: ["keys": "\(reload.needsRestart.joined(separator: ", "))"])
        }
        let applied = reload.configuration
        schedule.replace(with: makePlan(applied))
        let sinks = await readers.apply(readerPlans)
        if !sinks.stopped.isEmpty || !sinks.started.isEmpty {
            logger.info(
                "event sinks changed",
                metadata: [
                    "stopped": "\(sinks.stopped.joined(separator: ", "))",
                    "started": "\(sinks.started.joined(separator: ", "))",
                ])
        }
        tracker.update(applied)
        let polling = applied.polling
        watchdog.expectProgress(within: ProgressWatchdog.idleAllowance(polling))
        if let logLevelControl { logLevelControl.level = applied.logLevel }
        logger.info(
            "configuration reloaded",
            metadata: [
                "users": "\(applied.users.count)", "upns": "\(applied.userPrincipalNames.count)",
                "groups": "\(applied.groups.count)", "interval": "\(polling.intervalSeconds)s",
                "batch_size": "\(polling.batchSize)", "log_level": "\(applied.logLevel)",
                "sinks": "\(readers.names.joined(separator: ", "))",
            ])
    }

    static func statusLine(_ configuration: Configuration) -> String {
        "configuration loaded; \(configuration.users.count) user ids, \(configuration.userPrincipalNames.count) UPNs, "
            + "\(configuration.groups.count) groups; polling every "
            + "\(configuration.polling.intervalSeconds) s"
    }
}
