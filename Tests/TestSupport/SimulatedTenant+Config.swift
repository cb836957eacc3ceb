import Foundation
import GraphSimulator
import PresenceSync

/// Glue between a running simulator and the daemon's configuration, shared by integration tests.
public enum SimulatorSetup {
    /// Environment variable name the test configurations read the client secret from.
    public static let secretVariable = "PRESENCE_SYNC_TEST_SECRET"

    /// A daemon configuration document (JSON object) pointing at `simulator`, polling all its users.
    public static func document(
        for simulator: GraphSimulator, settings: SimulatorConfiguration, database: String,
        interval: Double = 0.2, batchSize: Int = 650, extra: [String: Any] = [:]
    ) -> [String: Any] {
        var document: [String: Any] = [
            "tenantId": settings.tenantID,
            "clientId": settings.clientID,
            "credential": ["environment": secretVariable],
            "authorityHost": simulator.baseURL,
            "graphBaseURL": simulator.baseURL,
            "users": simulator.userIDs,
            "database": database,
            "polling": ["intervalSeconds": interval, "batchSize": batchSize],
            "events": ["stdout": false],
            "logLevel": "warning",
        ]
        for (key, value) in extra { document[key] = value }
        return document
    }

    /// Parses `document` into a validated configuration.
    public static func configuration(_ document: [String: Any]) throws -> Configuration {
        try Configuration.parse(JSONSerialization.data(withJSONObject: document))
    }

    /// Writes `document` as a config file and returns its path.
    public static func writeConfig(_ document: [String: Any], in directory: TemporaryDirectory) throws -> String {
        let path = directory.file("config.json")
        try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted]).write(
            to: URL(fileURLWithPath: path))
        return path
    }

    /// The distinct consecutive states among those served to a user: what its history must hold.
    ///
    /// The simulator records every served version, including sequenceNumber-only bumps, which are not changes.
    public static func distinctStates(_ served: [SimulatedPresence]) -> [PresenceState] {
        var states: [PresenceState] = []
        for presence in served {
            let next = state(presence)
            if states.last != next { states.append(next) }
        }
        return states
    }

    /// What the daemon must have recorded for a served state.
    public static func state(_ served: SimulatedPresence) -> PresenceState {
        PresenceState(
            availability: served.availability, activity: served.activity, statusMessage: served.statusMessage,
            isOutOfOffice: served.isOutOfOffice, outOfOfficeMessage: served.outOfOfficeMessage,
            workLocationType: served.workLocationType)
    }
}
