import Foundation
import Hummingbird

/// The directory endpoints a daemon uses to turn UPNs and groups into user object ids.
///
/// - `POST /v1.0/$batch`: `{"requests": [{"id", "method", "url"}]}` with 1 to 20 requests (400 otherwise), each a
///   `GET /users/{id-or-upn}` or `GET /users('{upn}')`. Responses come in reverse request order (Graph promises
///   no order), each with its own status: 200 `{"id"}`, 404 `Request_ResourceNotFound`, 400 for anything else, or
///   429 `TooManyRequests` with `Retry-After` while ``GraphSimulator/throttleBatchItems(_:retryAfterSeconds:)`` has
///   items pending.
/// - `GET /v1.0/groups/{id}/transitiveMembers/microsoft.graph.user`: the group's user members (nested groups
///   flattened), `$select` honoured for `userPrincipalName`, `$top` or the configured page size per page, and an
///   absolute `@odata.nextLink` (with `$skiptoken`) back to this server until the last page. `$count=true` needs
///   `ConsistencyLevel: eventual` on every page (400 `Request_UnsupportedQuery` otherwise), as in Graph.
///
/// Both need a valid bearer token and consume one queued directory fault per request
/// (``GraphSimulator/injectDirectoryFaults(_:)``).
struct DirectoryEndpoints: Sendable {
    let tenant: SimulatedTenant

    /// Graph's limit on requests in one batch.
    static let maxBatchRequests = 20

    func register(on router: Router<BasicRequestContext>) {
        router.post("v1.0/$batch") { request, _ in
            let body = try await request.body.collect(upTo: 1024 * 1024)
            tenant.groups.count { $0.batchRequests += 1 }
            return try await handle(request) { () throws(GraphError) in try batch(request, body: body) }
        }
        router.get("v1.0/groups/:group/transitiveMembers/microsoft.graph.user") { request, context in
            let group = context.parameters.get("group") ?? ""
            tenant.groups.count { $0.groupPageRequests += 1 }
            return try await handle(request) { () throws(GraphError) in try members(request, group: group) }
        }
    }

    // MARK: $batch

    private func batch(_ request: Request, body: ByteBuffer) throws(GraphError) -> Response {
        let fields = try PresenceAPIEndpoints.object(body)
        guard let requests = fields["requests"] as? [[String: Any]], !requests.isEmpty else {
            throw GraphError(status: .badRequest, code: "BadRequest", message: "Invalid batch payload format.")
        }
        guard requests.count <= Self.maxBatchRequests else {
            throw GraphError(
                status: .badRequest, code: "BadRequest",
                message: "Number of requests in the batch exceeds the limit of \(Self.maxBatchRequests).")
        }
        var ids = Set<String>()
        var answers: [String] = []
        for item in requests {
            guard let id = item["id"] as? String, !id.isEmpty, ids.insert(id).inserted else {
                throw GraphError(
                    status: .badRequest, code: "BadRequest", message: "Each request in a batch needs a unique id.")
            }
            answers.append(itemAnswer(id: id, item: item, base: GraphHeaders.baseURL(of: request)))
        }
        tenant.groups.count { $0.batchItems += answers.count }
        let text = "{\"responses\":[" + answers.reversed().joined(separator: ",") + "]}"
        return Self.json(text)
    }

    /// One response object of the batch answer.
    private func itemAnswer(id: String, item: [String: Any], base: String) -> String {
        let requestID = JSONText.newGUID()
        func answer(_ status: Int, _ body: String, retryAfter: Int? = nil) -> String {
            var headers = "\"Content-Type\":\"application/json\",\"request-id\":\(JSONText.quoted(requestID))"
            if let retryAfter { headers += ",\"Retry-After\":\"\(retryAfter)\"" }
            return "{\"id\":\(JSONText.quoted(id)),\"status\":\(status),\"headers\":{\(headers)},\"body\":\(body)}"
        }
        func error(_ status: Int, _ code: String, _ message: String) -> String {
            "{\"error\":{\"code\":\(JSONText.quoted(code)),\"message\":\(JSONText.quoted(message)),"
                + "\"innerError\":{\"date\":\(JSONText.quoted(JSONText.graphDate())),"
                + "\"request-id\":\(JSONText.quoted(requestID)),\"client-request-id\":\(JSONText.quoted(requestID))}}}"
        }
        if let retryAfter = tenant.groups.takeItemThrottle() {
            return answer(429, error(429, "TooManyRequests", "Please retry again later."), retryAfter: retryAfter)
        }
        let method = (item["method"] as? String ?? "").uppercased()
        let url = item["url"] as? String ?? ""
        guard method == "GET", let user = Self.userReference(inURL: url) else {
            return answer(400, error(400, "BadRequest", "Unsupported request in batch: \(method) \(url)."))
        }
        guard let index = tenant.directory.index(ofUserOrUPN: user) else {
            return answer(
                404,
                error(
                    404, "Request_ResourceNotFound",
                    "Resource '\(user)' does not exist or one of its queried reference-property objects are not present."
                ))
        }
        let context = base + "/v1.0/$metadata#users(id)/$entity"
        let body =
            "{\"@odata.context\":\(JSONText.quoted(context)),\"id\":\(JSONText.quoted(tenant.directory.ids[index]))}"
        return answer(200, body)
    }

    /// The id or UPN in `/users/{x}?...` or `/users('{x}')?...` (percent-decoded, `''` unquoted), nil otherwise.
    static func userReference(inURL url: String) -> String? {
        var path = Substring(url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        if path.hasPrefix("/") { path = path.dropFirst() }
        if path.lowercased().hasPrefix("v1.0/") { path = path.dropFirst(5) }
        let decoded = String(path).removingPercentEncoding ?? String(path)
        let lowered = decoded.lowercased()
        if lowered.hasPrefix("users('"), decoded.hasSuffix("')") {
            return String(decoded.dropFirst(7).dropLast(2)).replacingOccurrences(of: "''", with: "'")
        }
        if lowered.hasPrefix("users/") {
            let rest = decoded.dropFirst(6)
            return rest.isEmpty || rest.contains("/") ? nil : String(rest)
        }
        return nil
    }

    // MARK: Group members

    private func members(_ request: Request, group: String) throws(GraphError) -> Response {
        let groupID = group.removingPercentEncoding ?? group
        let query = request.uri.queryParameters
        let counting = query["$count"].map { String($0).lowercased() == "true" } ?? false
        if counting && request.headers[HTTPFields.Element.Name("ConsistencyLevel")!]?.lowercased() != "eventual" {
            throw GraphError(
                status: .badRequest, code: "Request_UnsupportedQuery",
                message: "$count is only supported with the ConsistencyLevel header set to eventual.")
        }
        guard let members = tenant.groups.transitiveMembers(of: groupID) else {
            throw GraphError(
                status: .notFound, code: "Request_ResourceNotFound",
                message:
                    "Resource '\(groupID)' does not exist or one of its queried reference-property objects are not present."
            )
        }
        let select = query["$select"].map { String($0).lowercased().split(separator: ",").map(String.init) } ?? []
        let withUPN = select.isEmpty || select.contains("userprincipalname")
        let top = query["$top"].flatMap { Int(String($0)) }.map { min(max($0, 1), 999) }
        let pageSize = top ?? max(1, tenant.configuration.groupPageSize)
        let offset = query["$skiptoken"].flatMap { Int(String($0).dropFirst()) } ?? 0
        let page = members.dropFirst(offset).prefix(pageSize)
        let base = GraphHeaders.baseURL(of: request)
        var text = "{\"@odata.context\":\(JSONText.quoted(base + "/v1.0/$metadata#users(id)"))"
        if counting { text += ",\"@odata.count\":\(members.count)" }
        if offset + page.count < members.count {
            var link = base + "/v1.0/groups/\(groupID)/transitiveMembers/microsoft.graph.user?"
            var parts: [String] = []
            if let selected = query["$select"] { parts.append("$select=\(selected)") }
            if counting { parts.append("$count=true") }
            if let top { parts.append("$top=\(top)") }
            parts.append("$skiptoken=X\(offset + page.count)")
            link += parts.joined(separator: "&")
            text += ",\"@odata.nextLink\":\(JSONText.quoted(link))"
        }
        text += ",\"value\":["
        for (position, id) in page.enumerated() {
            if position > 0 { text += "," }
            text += "{\"@odata.type\":\"#microsoft.graph.user\",\"id\":\(JSONText.quoted(id))"
            if withUPN, let index = tenant.directory.index(of: id) {
                text += ",\"userPrincipalName\":\(JSONText.quoted(UserDirectory.userPrincipalName(index: index)))"
            }
            text += "}"
        }
        return Self.json(text + "]}")
    }

    // MARK: Plumbing

    /// Checks the token, serves a queued directory fault if any, else answers with `body`.
    private func handle(_ request: Request, _ body: () throws(GraphError) -> Response) async throws -> Response {
        let requestID = JSONText.newGUID()
        let clientRequestID = request.headers[GraphHeaders.clientRequestID]
        if let refusal = tenant.refusal(of: request, requestID: requestID, clientRequestID: clientRequestID) {
            return refusal
        }
        if let fault = tenant.groups.dequeueFault() {
            tenant.groups.count { $0.faultsServed += 1 }
            switch fault {
            case .status(let status, let retryAfter):
                return GraphError(
                    status: HTTPResponse.Status(code: status), code: SimulatedFault.graphErrorCode(forStatus: status),
                    message: SimulatedFault.graphErrorMessage(forStatus: status)
                ).response(requestID: requestID, clientRequestID: clientRequestID, retryAfterSeconds: retryAfter)
            case .invalidToken:
                return GraphError(
                    status: .unauthorized, code: "InvalidAuthenticationToken",
                    message: "Access token validation failure. Invalid audience."
                ).response(requestID: requestID, clientRequestID: clientRequestID)
            case .delay(let milliseconds):
                try await Task.sleep(for: .milliseconds(max(0, milliseconds)))
            case .malformedJSON, .truncatedJSON, .missingValueArray:
                var headers = GraphHeaders.make(requestID: requestID, clientRequestID: clientRequestID)
                headers[.contentType] = "text/html"
                return Response(
                    status: .ok, headers: headers,
                    body: .init(byteBuffer: ByteBuffer(string: "<html><body>Bad Gateway</body></html>")))
            }
        }
        do {
            var response = try body()
            response.headers[GraphHeaders.requestID] = requestID
            response.headers[GraphHeaders.clientRequestID] = clientRequestID ?? requestID
            return response
        } catch {
            tenant.count { $0.rejectedRequests += 1 }
            return error.response(requestID: requestID, clientRequestID: clientRequestID)
        }
    }

    private static func json(_ text: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json; odata.metadata=minimal; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
