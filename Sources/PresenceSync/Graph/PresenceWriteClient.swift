import Foundation

/// One user's presence as `GET /users/{id}/presence` returned it.
public struct SinglePresence: Sendable {
    /// Graph's JSON object, unchanged (for `--json`).
    public var json: Data
    /// The decoded state, as the daemon would record it.
    public var observation: PresenceObservation
    public var requestID: String?
}

/// The rest of the Presence API, for operators: read one user, set or clear the application's presence session,
/// the user's preferred presence and the status message (application permission Presence.ReadWrite.All).
///
/// Callers check pairs and durations with `PresenceRules` first. Every failure is a `GraphError` carrying Graph's
/// error code and request-id. Ids must be object ids (resolve UPNs with `UserResolver`).
public struct PresenceWriteClient: Sendable {
    private let session: GraphSession
    /// The application's presence session id: Graph requires the app's client id.
    private let sessionID: String

    public init(session: GraphSession, clientID: String) {
        self.session = session
        self.sessionID = clientID
    }

    /// `GET /users/{id}/presence`.
    public func presence(of userID: String) async throws(GraphError) -> SinglePresence {
        let answer = try await session.send(.GET, "/users/\(Self.segment(userID))/presence", expecting: [200])
        var wrapped = Data("{\"value\":[".utf8)
        wrapped.append(contentsOf: answer.body.readableBytesView)
        wrapped.append(contentsOf: Data("]}".utf8))
        let observations = try PresenceAnswer.decode(wrapped, requestID: answer.requestID)
        guard let observation = observations.first else {
            throw .malformedAnswer(reason: "no presence object", requestID: answer.requestID)
        }
        return SinglePresence(
            json: Data(answer.body.readableBytesView), observation: observation, requestID: answer.requestID)
    }

    /// `setPresence`: the application's presence session for the user, for `expirationDuration` (Graph: PT5M).
    @discardableResult
    public func setPresence(
        of userID: String, _ pair: PresenceRules.Pair, expirationDuration: String?
    ) async throws(GraphError) -> String? {
        var body: [String: String] = [
            "sessionId": sessionID, "availability": pair.availability, "activity": pair.activity,
        ]
        if let expirationDuration { body["expirationDuration"] = expirationDuration }
        return try await post(userID, "setPresence", body)
    }

    /// `clearPresence`: ends the application's session; Graph answers 404 when there is none.
    @discardableResult
    public func clearPresence(of userID: String) async throws(GraphError) -> String? {
        try await post(userID, "clearPresence", ["sessionId": sessionID])
    }

    /// `setUserPreferredPresence`: what the user's presence shows whatever the sessions say.
    @discardableResult
    public func setPreferredPresence(
        of userID: String, _ pair: PresenceRules.Pair, expirationDuration: String?
    ) async throws(GraphError) -> String? {
        var body: [String: String] = ["availability": pair.availability, "activity": pair.activity]
        if let expirationDuration { body["expirationDuration"] = expirationDuration }
        return try await post(userID, "setUserPreferredPresence", body)
    }

    /// `clearUserPreferredPresence`.
    @discardableResult
    public func clearPreferredPresence(of userID: String) async throws(GraphError) -> String? {
        try await post(userID, "clearUserPreferredPresence", [String: String]())
    }

    /// A status message expiry as Graph's dateTimeTimeZone: local wall-clock text and a time zone name.
    public struct Expiry: Sendable, Equatable {
        /// `2026-12-01T17:00:00`, no offset.
        public var dateTime: String
        /// An IANA or Windows zone name, e.g. `Europe/Paris` or `UTC`.
        public var timeZone: String

        public init(dateTime: String, timeZone: String) {
            self.dateTime = dateTime
            self.timeZone = timeZone
        }
    }

    /// `setStatusMessage` with text content; an empty text clears the message.
    @discardableResult
    public func setStatusMessage(of userID: String, _ text: String, expiry: Expiry?) async throws(GraphError) -> String?
    {
        struct Content: Encodable {
            var content: String
            var contentType = "text"
        }
        struct StatusMessage: Encodable {
            var message: Content
            var expiryDateTime: Expiry?
        }
        struct Body: Encodable {
            var statusMessage: StatusMessage
        }
        return try await post(
            userID, "setStatusMessage",
            Body(statusMessage: .init(message: .init(content: text), expiryDateTime: expiry)))
    }

    /// POSTs `body` to `/users/{id}/presence/{action}` and returns the request-id of the success.
    private func post(_ userID: String, _ action: String, _ body: some Encodable) async throws(GraphError) -> String? {
        let data: Data
        do {
            data = try JSONEncoder().encode(body)
        } catch {
            throw .malformedAnswer(reason: "cannot encode the \(action) request: \(error)", requestID: nil)
        }
        let answer = try await session.send(
            .POST, "/users/\(Self.segment(userID))/presence/\(action)", json: data, expecting: [200, 204])
        return answer.requestID
    }

    /// An object id as a path segment (ids are GUIDs; encoding guards against anything else slipping through).
    private static func segment(_ userID: String) -> String {
        UserResolver.encode(userID)
    }
}

extension PresenceWriteClient.Expiry: Encodable {}
