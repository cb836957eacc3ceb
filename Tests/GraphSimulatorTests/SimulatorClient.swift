import Foundation
import GraphSimulator
import Logging
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// An HTTP answer as the tests inspect it.
struct HTTPAnswer: Sendable {
    let status: Int
    /// Header names lower-cased.
    let headers: [String: String]
    let body: Data

    /// The body parsed with `JSONSerialization` (fragments allowed), nil if it is not JSON.
    var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
    var object: [String: Any] { json as? [String: Any] ?? [:] }
    /// The `value` array of a presence answer.
    var presences: [[String: Any]] { object["value"] as? [[String: Any]] ?? [] }
    /// The `error` object of a Graph error answer.
    var graphError: [String: Any] { object["error"] as? [String: Any] ?? [:] }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A minimal client that speaks to a simulator over real loopback HTTP, as the daemon would.
struct SimulatorClient: Sendable {
    let baseURL: String
    let configuration: SimulatorConfiguration

    func send(
        _ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil
    ) async throws -> HTTPAnswer {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 30
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var lowered: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { lowered[name.lowercased()] = value }
        }
        return HTTPAnswer(status: http.statusCode, headers: lowered, body: data)
    }

    /// The form a correct client-credentials request sends for this simulator's configuration.
    var validTokenForm: [String: String] {
        [
            "grant_type": "client_credentials",
            "client_id": configuration.clientID,
            "client_secret": configuration.clientSecret,
            "scope": "https://graph.microsoft.com/.default",
        ]
    }

    func requestToken(
        tenant: String? = nil, form: [String: String]? = nil, headers: [String: String] = [:]
    ) async throws -> HTTPAnswer {
        let fields = form ?? validTokenForm
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let encoded = fields.sorted { $0.key < $1.key }.map { name, value in
            "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed)!)"
        }.joined(separator: "&")
        var allHeaders = headers
        allHeaders["Content-Type"] = "application/x-www-form-urlencoded"
        return try await send(
            "POST", "/\(tenant ?? configuration.tenantID)/oauth2/v2.0/token", headers: allHeaders,
            body: Data(encoded.utf8))
    }

    /// A valid access token (fails the test if none is issued).
    func accessToken() async throws -> String {
        let answer = try await requestToken()
        try #require(answer.status == 200, "token request failed: \(answer.text)")
        return try #require(answer.object["access_token"] as? String)
    }

    func presences(
        _ ids: [String], token: String?, headers: [String: String] = [:]
    ) async throws -> HTTPAnswer {
        let body = try JSONSerialization.data(withJSONObject: ["ids": ids])
        return try await presences(rawBody: body, token: token, headers: headers)
    }

    func presences(rawBody: Data, token: String?, headers: [String: String] = [:]) async throws -> HTTPAnswer {
        var allHeaders = headers
        allHeaders["Content-Type"] = "application/json"
        if let token { allHeaders["Authorization"] = "Bearer \(token)" }
        return try await send(
            "POST", "/v1.0/communications/getPresencesByUserId", headers: allHeaders, body: rawBody)
    }
}

/// A logger for simulators under test: warnings and errors only, so test output stays readable.
let quietLogger: Logger = {
    var logger = Logger(label: "GraphSimulatorTests")
    logger.logLevel = .warning
    return logger
}()

extension SimulatorConfiguration {
    /// The default configuration with the given changes, so tests state only what matters to them.
    static func testing(
        userCount: Int = 100,
        changeProbability: Double = 0.1,
        sequenceOnlyProbability: Double = 0,
        tokenLifetimeSeconds: Int = 3599,
        unknownIDBehaviour: UnknownIDBehaviour = .omit,
        shuffleResults: Bool = true,
        recordServedStates: Bool = false
    ) -> SimulatorConfiguration {
        var configuration = SimulatorConfiguration()
        configuration.userCount = userCount
        configuration.changeProbability = changeProbability
        configuration.sequenceOnlyProbability = sequenceOnlyProbability
        configuration.tokenLifetimeSeconds = tokenLifetimeSeconds
        configuration.unknownIDBehaviour = unknownIDBehaviour
        configuration.shuffleResults = shuffleResults
        configuration.recordServedStates = recordServedStates
        return configuration
    }
}

/// Starts a simulator with `configuration` on 127.0.0.1:0, runs `body` against it, and always stops it.
func withSimulator<Result>(
    _ configuration: SimulatorConfiguration = .testing(),
    _ body: (GraphSimulator, SimulatorClient) async throws -> Result
) async throws -> Result {
    let simulator = GraphSimulator(configuration: configuration, logger: quietLogger)
    _ = try await simulator.start()
    do {
        let result = try await body(
            simulator, SimulatorClient(baseURL: simulator.baseURL, configuration: configuration))
        await simulator.stop()
        return result
    } catch {
        await simulator.stop()
        throw error
    }
}

/// A served presence object read back into the public model, to compare with what the simulator says it served.
func simulatedPresence(from object: [String: Any]) -> SimulatedPresence? {
    guard let availability = object["availability"] as? String, let activity = object["activity"] as? String,
        let outOfOffice = object["outOfOfficeSettings"] as? [String: Any],
        let isOutOfOffice = outOfOffice["isOutOfOffice"] as? Bool,
        let sequenceNumber = object["sequenceNumber"] as? String
    else { return nil }
    let status = object["statusMessage"] as? [String: Any]
    let message = status?["message"] as? [String: Any]
    let workLocation = object["workLocation"] as? [String: Any]
    return SimulatedPresence(
        availability: availability,
        activity: activity,
        statusMessage: message?["content"] as? String,
        isOutOfOffice: isOutOfOffice,
        outOfOfficeMessage: outOfOffice["message"] as? String,
        workLocationType: workLocation?["workLocationType"] as? String,
        sequenceNumber: sequenceNumber
    )
}

/// The served presences of an answer keyed by id.
func presencesByID(_ answer: HTTPAnswer) -> [String: SimulatedPresence] {
    var result: [String: SimulatedPresence] = [:]
    for object in answer.presences {
        if let id = object["id"] as? String, let presence = simulatedPresence(from: object) { result[id] = presence }
    }
    return result
}
