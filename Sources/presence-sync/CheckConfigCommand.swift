import ArgumentParser
import Foundation
import PresenceSync

/// `presence-sync check-config`: validates a configuration file and says exactly what is wrong.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file (exit status 78 when it is invalid).",
        discussion: "Example: presence-sync check-config --config /etc/presence-sync/config.json"
    )

    @Option(name: .long, help: "The configuration file (JSON).")
    var config: String

    func run() throws {
        let configuration = loadConfigurationOrExit(config)
        // A certificate and its key were loaded and checked with the configuration; a secret is read here.
        var credentialLine = "client secret from \(configuration.credential.secretSource)"
        switch configuration.credential {
        case .secret(let source):
            do {
                _ = try source.read()
            } catch {
                printError("\(config): key 'credential': \(error.description)")
                throw ExitCode(exitConfigurationError)
            }
        case .certificate(let credential):
            do {
                let loaded = try credential.load()
                credentialLine = "\(loaded), signed \(credential.algorithm.rawValue)"
                let days = loaded.notValidAfter.timeIntervalSinceNow / 86_400
                if days < 30 {
                    printError("warning: the certificate expires in \(Int(days)) days: renew it and upload the new one")
                }
            } catch {
                printError("\(config): key 'credential.\(error.key)': \(error.problem)")
                throw ExitCode(exitConfigurationError)
            }
        }
        if let warning = configuration.credential.secretSource.permissionWarning() {
            printError("warning: \(warning)")
        }
        print(
            """
            \(config): configuration is valid
              tenant:    \(configuration.tenantID)
              client:    \(configuration.clientID)
              sign-in:   \(credentialLine)
              cloud:     \(configuration.endpoints.cloud.rawValue) (sign-in \(configuration.endpoints.authorityHost), Graph \(configuration.endpoints.graphBaseURL))
              users:     \(configuration.users.count) object ids, \(configuration.userPrincipalNames.count) UPNs, \(configuration.groups.count) groups (resolved every \(configuration.userResolution.intervalSeconds) s)
              database:  \(configuration.databasePath)
              polling:   every \(configuration.polling.intervalSeconds) s, batches of \(configuration.polling.batchSize), \(configuration.polling.maxConcurrentRequests) in flight, budget \(configuration.polling.requestBudget) requests / \(configuration.polling.budgetWindowSeconds) s
              events:    \(configuration.events.stdout ? "stdout" : "none")
            """)
    }
}
