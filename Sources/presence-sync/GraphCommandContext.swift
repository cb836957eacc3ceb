import ArgumentParser
import Foundation
import Logging
import PresenceSync

/// The Graph clients an operator command needs, built from the daemon's configuration (same sign-in, same hosts).
///
/// Created and shut down by `withGraph`, so the HTTP client is always closed, also when the command fails.
struct GraphCommandContext {
    let configuration: Configuration
    let resolver: UserResolver
    let presence: PresenceWriteClient

    /// Loads `configPath` (exit 78 when invalid), runs `body` with the clients, and closes them.
    static func withGraph<T>(
        config configPath: String, _ body: (GraphCommandContext) async throws -> T
    ) async throws -> T {
        let configuration = loadConfigurationOrExit(configPath)
        let logger = bootstrapLogging(level: .warning)
        let http = GraphHTTP(
            connectTimeoutSeconds: configuration.polling.connectTimeoutSeconds,
            requestTimeoutSeconds: configuration.polling.requestTimeoutSeconds)
        let tokens = AccessTokenProvider(
            tenantID: configuration.tenantID, clientID: configuration.clientID, credential: configuration.credential,
            endpoints: configuration.endpoints, http: http, logger: logger)
        let session = GraphSession(http: http, tokens: tokens, endpoints: configuration.endpoints, logger: logger)
        let context = GraphCommandContext(
            configuration: configuration, resolver: UserResolver(session: session),
            presence: PresenceWriteClient(session: session, clientID: configuration.clientID))
        do {
            let result = try await body(context)
            await http.shutdown()
            return result
        } catch {
            await http.shutdown()
            throw error
        }
    }

    /// The object id of `user` (an object id or a UPN); exits 1 with one clear line when it cannot be resolved.
    func objectID(_ user: String) async throws -> String {
        do {
            return try await resolver.objectID(for: UserReference(user))
        } catch {
            throw CommandFailure(error.description)
        }
    }
}

/// A command failed: one line on standard error, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}

/// Runs a command body, turning the failures operators meet into one line on standard error and exit status 1.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as CommandFailure {
        printError(failure.description)
        throw ExitCode.failure
    } catch let error as GraphError {
        printError(error.description)
        throw ExitCode.failure
    } catch let error as StoreError {
        printError(error.description)
        throw ExitCode.failure
    }
}
