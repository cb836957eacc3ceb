import Foundation
import Hummingbird

/// The single-user Graph endpoints: directory lookup, one user's presence, and the presence write APIs.
///
/// - `GET /v1.0/users/{id-or-upn}` (and `/v1.0/users('{upn}')`): `{"id": ...}` with `$select=id`, else id, UPN
///   and display name; 404 `Request_ResourceNotFound` for an unknown user.
/// - `GET /v1.0/users/{id-or-upn}/presence`, `GET /v1.0/communications/presences/{id}`: the current presence,
///   shortened like batch answers when an ``AnswerShortening`` is in force (but not recorded).
/// - `POST /v1.0/users/{id}/presence/setPresence | clearPresence | setUserPreferredPresence |
///   clearUserPreferredPresence | setStatusMessage` with Graph's documented validation: `sessionId` must be the
///   application's client id, only the documented availability/activity pairs, setPresence durations PT5M..PT4H,
///   404 for clearPresence without a session, 404 `ResourceNotFound` for an unknown user. Success is 200, no body.
///
/// Every request needs a valid bearer token (401 `InvalidAuthenticationToken` otherwise). What is set changes what
/// every endpoint serves (see ``PresenceOverrides``).
struct PresenceAPIEndpoints: Sendable {
    let tenant: SimulatedTenant

    static let sessionPairs: Set<String> = [
        "Available/Available", "Busy/InACall", "Busy/InAConferenceCall", "Away/Away", "DoNotDisturb/Presenting",
    ]
    static let preferredPairs: Set<String> = [
        "Available/Available", "Busy/Busy", "DoNotDisturb/DoNotDisturb", "BeRightBack/BeRightBack", "Away/Away",
        "Offline/OffWork",
    ]

    /// Registers the routes on `router`.
    func register(on router: Router<BasicRequestContext>) {
        router.get("v1.0/users/:user") { request, context in
            await handle(request) { () throws(GraphError) in
                try userAnswer(request, id: context.parameters.get("user") ?? "")
            }
        }
        router.get("v1.0/:segment") { request, context in
            // `users('$odd@contoso.com')`: the quoted form Graph needs for UPNs that start with `$`.
            let segment = decode(context.parameters.get("segment") ?? "")
            return await handle(request) { () throws(GraphError) in
                guard segment.lowercased().hasPrefix("users('"), segment.hasSuffix("')") else {
                    throw GraphError(
                        status: .notFound, code: "BadRequest", message: "Resource not found for the segment.")
                }
                let quoted = segment.dropFirst(7).dropLast(2).replacingOccurrences(of: "''", with: "'")
                return try userAnswer(request, id: quoted)
            }
        }
        router.get("v1.0/users/:user/presence") { request, context in
            await handle(request) { () throws(GraphError) in
                try presenceAnswer(request, user: context.parameters.get("user") ?? "")
            }
        }
        router.get("v1.0/communications/presences/:id") { request, context in
            await handle(request) { () throws(GraphError) in
                let id = decode(context.parameters.get("id") ?? "")
                guard UserDirectory.isGUID(id) else {
                    throw GraphError(status: .badRequest, code: "BadRequest", message: "Invalid id '\(id)'.")
                }
                return try presenceAnswer(request, user: id)
            }
        }
        for action in [
            "setPresence", "clearPresence", "setUserPreferredPresence", "clearUserPreferredPresence",
            "setStatusMessage",
        ] {
            router.post("v1.0/users/:user/presence/\(action)") { request, context in
                let user = context.parameters.get("user") ?? ""
                let body = try await request.body.collect(upTo: 64 * 1024)
                return await handle(request) { () throws(GraphError) in try write(action, user: user, body: body) }
            }
        }
    }

    // MARK: Reads

    private func userAnswer(_ request: Request, id: String) throws(GraphError) -> Response {
        let text = decode(id)
        guard let index = tenant.directory.index(ofUserOrUPN: text) else {
            throw GraphError(
                status: .notFound, code: "Request_ResourceNotFound",
                message:
                    "Resource '\(text)' does not exist or one of its queried reference-property objects "
                    + "are not present."
            )
        }
        let objectID = tenant.directory.ids[index]
        let base = GraphHeaders.baseURL(of: request) + "/v1.0/$metadata#users"
        let select = request.uri.queryParameters["$select"].map(String.init)
        let body: String
        if select?.lowercased() == "id" {
            body = "{\"@odata.context\":\(JSONText.quoted(base + "(id)/$entity")),\"id\":\(JSONText.quoted(objectID))}"
        } else {
            let upn = UserDirectory.userPrincipalName(index: index)
            body =
                "{\"@odata.context\":\(JSONText.quoted(base + "/$entity")),\"id\":\(JSONText.quoted(objectID)),"
                + "\"userPrincipalName\":\(JSONText.quoted(upn)),\"displayName\":\"Simulated User \(index)\"}"
        }
        return Self.json(body)
    }

    private func presenceAnswer(_ request: Request, user: String) throws(GraphError) -> Response {
        let index = try knownUser(user)
        let read = tenant.read(index: index)
        let id = tenant.directory.ids[index]
        let context = GraphHeaders.baseURL(of: request) + "/v1.0/$metadata#users('\(id)')/presence/$entity"
        return Self.json(
            SinglePresenceJSON.object(
                id: id, presence: read.presence, customStatusMessage: tenant.overrides.statusMessage(index),
                context: context, omitting: read.omitted))
    }

    // MARK: Writes

    private func write(_ action: String, user: String, body: ByteBuffer) throws(GraphError) -> Response {
        let index = try knownUser(user)
        let fields = try Self.object(body)
        let overrides = tenant.overrides
        switch action {
        case "setPresence":
            try checkSession(fields)
            let pair = try Self.pair(fields, allowed: Self.sessionPairs)
            let seconds = try Self.duration(fields, default: 300, range: 300...14_400)
            overrides.update(index) { $0.session = (pair, .now + .seconds(seconds)) }
        case "clearPresence":
            try checkSession(fields)
            guard overrides.hasSession(index) else {
                throw GraphError(
                    status: .notFound, code: "NotFound",
                    message: "No presence session with id '\(tenant.configuration.clientID)' exists for this user.")
            }
            overrides.update(index) { $0.session = nil }
        case "setUserPreferredPresence":
            let pair = try Self.pair(fields, allowed: Self.preferredPairs)
            let busy = ["Busy", "DoNotDisturb"].contains(PresenceCatalog.activityPairs[pair].availability)
            let defaultSeconds = busy ? 86_400 : 7 * 86_400  // Graph: 1 day for Busy and DoNotDisturb, else 7
            let seconds = try Self.duration(fields, default: defaultSeconds, range: 1...Int.max)
            overrides.update(index) { $0.preferred = (pair, .now + .seconds(seconds)) }
        case "clearUserPreferredPresence":
            overrides.update(index) { $0.preferred = nil }
        default:
            let message = try Self.statusMessage(fields)
            overrides.update(index) { $0.statusMessage = message }
        }
        return Response(status: .ok, headers: [.contentType: "application/json"])
    }

    private func checkSession(_ fields: [String: Any]) throws(GraphError) {
        guard let session = fields["sessionId"] as? String, !session.isEmpty else {
            throw GraphError(
                status: .badRequest, code: "BadRequest", message: "Required property 'sessionId' is missing.")
        }
        guard session.lowercased() == tenant.configuration.clientID.lowercased() else {
            throw GraphError(
                status: .badRequest, code: "BadRequest",
                message: "The sessionId '\(session)' must be the application (client) id of the calling application.")
        }
    }

    private func knownUser(_ user: String) throws(GraphError) -> Int {
        let text = decode(user)
        guard let index = tenant.directory.index(ofUserOrUPN: text) else {
            throw GraphError(
                status: .notFound, code: "ResourceNotFound", message: "The user '\(text)' was not found.")
        }
        return index
    }

    // MARK: Plumbing

    /// Counts the request, checks the bearer token, and turns a thrown Graph error into its answer.
    private func handle(_ request: Request, _ body: () throws(GraphError) -> Response) async -> Response {
        tenant.overrides.countRequest()
        let requestID = JSONText.newGUID()
        let clientRequestID = request.headers[GraphHeaders.clientRequestID]
        if let refusal = tenant.refusal(of: request, requestID: requestID, clientRequestID: clientRequestID) {
            return refusal
        }
        do {
            var response = try body()
            for (name, value) in [
                (GraphHeaders.requestID, requestID), (GraphHeaders.clientRequestID, clientRequestID ?? requestID),
            ] {
                response.headers[name] = value
            }
            return response
        } catch {
            tenant.count { $0.rejectedRequests += 1 }
            return error.response(requestID: requestID, clientRequestID: clientRequestID)
        }
    }

    private func decode(_ segment: String) -> String {
        segment.removingPercentEncoding ?? segment
    }

    private static func json(_ text: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json; odata.metadata=minimal; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension PresenceAPIEndpoints {
    /// The body as a JSON object.
    static func object(_ body: ByteBuffer) throws(GraphError) -> [String: Any] {
        let data = body.withUnsafeReadableBytes { Data($0) }
        guard
            let object = (try? JSONSerialization.jsonObject(with: data.isEmpty ? Data("{}".utf8) : data))
                as? [String: Any]
        else {
            throw GraphError(
                status: .badRequest, code: "BadRequest", message: "Unable to read JSON request payload.")
        }
        return object
    }

    /// The catalog index of the body's availability/activity pair, if `allowed` lists it (exact spelling).
    static func pair(_ fields: [String: Any], allowed: Set<String>) throws(GraphError) -> Int {
        let availability = fields["availability"] as? String ?? ""
        let activity = fields["activity"] as? String ?? ""
        guard allowed.contains("\(availability)/\(activity)"),
            let index = PresenceOverrides.pairIndex(availability: availability, activity: activity)
        else {
            throw GraphError(
                status: .badRequest, code: "BadRequest",
                message: "The availability '\(availability)' and activity '\(activity)' combination is not supported.")
        }
        return index
    }

    /// `expirationDuration` in seconds (ISO 8601, days to seconds), `default` when absent; 400 outside `range`.
    static func duration(_ fields: [String: Any], default: Int, range: ClosedRange<Int>) throws(GraphError) -> Int {
        guard let value = fields["expirationDuration"] else { return `default` }
        guard let text = value as? String, let seconds = seconds(ofISODuration: text), range.contains(seconds) else {
            throw GraphError(
                status: .badRequest, code: "BadRequest",
                message: "The expirationDuration '\(value)' is not valid"
                    + (range.upperBound == 14_400 ? "; it must be between PT5M and PT4H." : "."))
        }
        return seconds
    }

    /// `P[nD][T[nH][nM][nS]]` in seconds; nil for anything else.
    static func seconds(ofISODuration text: String) -> Int? {
        let pattern = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/
        guard let match = text.uppercased().wholeMatch(of: pattern), text.count > 1, !text.uppercased().hasSuffix("T")
        else { return nil }
        let part = { (value: Substring?, unit: Int) in (value.flatMap { Int($0) } ?? 0) * unit }
        return part(match.1, 86_400) + part(match.2, 3600) + part(match.3, 60) + part(match.4, 1)
    }

    /// The message text and its expiry from a setStatusMessage body; an empty text clears (nil).
    static func statusMessage(
        _ fields: [String: Any]
    ) throws(GraphError) -> (text: String, expires: ContinuousClock.Instant?)? {
        guard let statusMessage = fields["statusMessage"] as? [String: Any],
            let message = statusMessage["message"] as? [String: Any], let content = message["content"] as? String
        else {
            throw GraphError(
                status: .badRequest, code: "BadRequest",
                message: "Required property 'statusMessage.message.content' is missing.")
        }
        if let type = message["contentType"] as? String, type.lowercased() != "text" {
            throw GraphError(status: .badRequest, code: "BadRequest", message: "Only contentType 'text' is supported.")
        }
        var expires: ContinuousClock.Instant?
        if let expiry = statusMessage["expiryDateTime"] as? [String: Any] {
            let dateTime = expiry["dateTime"] as? String ?? ""
            let zoneName = expiry["timeZone"] as? String ?? ""
            guard let zone = TimeZone(identifier: zoneName) ?? (zoneName == "UTC" ? TimeZone(identifier: "GMT") : nil),
                let date = parseDateTime(dateTime, in: zone)
            else {
                throw GraphError(
                    status: .badRequest, code: "BadRequest",
                    message: "Invalid expiryDateTime: dateTime '\(dateTime)' with timeZone '\(zoneName)'.")
            }
            expires = .now + .milliseconds(Int64(date.timeIntervalSinceNow * 1000))
        }
        return content.isEmpty ? nil : (content, expires)
    }

    /// `2026-12-01T17:00:00` (optional fraction) as wall-clock time in `zone`.
    static func parseDateTime(_ text: String, in zone: TimeZone) -> Date? {
        let pattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/
        guard let match = text.wholeMatch(of: pattern) else { return nil }
        var components = DateComponents()
        components.year = Int(match.1)
        components.month = Int(match.2)
        components.day = Int(match.3)
        components.hour = Int(match.4)
        components.minute = Int(match.5)
        components.second = match.6.flatMap { Int($0) } ?? 0
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.date(from: components)
    }
}
