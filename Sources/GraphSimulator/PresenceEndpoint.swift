import Foundation
import Hummingbird
import Logging

/// `POST /v1.0/communications/getPresencesByUserId`: Graph's batch presence read.
///
/// Order of checks: bearer token (401 `InvalidAuthenticationToken`), then the next queued fault if any, then the
/// body: not JSON, no `ids` array, an empty list, more than 650 ids or an id that is not a GUID answer 400. Otherwise
/// 200 `{"value":[...]}` with one presence per distinct known id, shuffled if configured; unknown ids per
/// ``UnknownIDBehaviour``; objects may leave fields out per the ``AnswerShortening`` in force. Every answer carries
/// `request-id` and echoes `client-request-id`.
struct PresenceEndpoint: Sendable {
    let tenant: SimulatedTenant
    let json: PresenceJSON
    let logger: Logger

    /// Graph's documented maximum number of ids per request.
    static let maximumIDs = 650
    private static let maximumBodyBytes = 8 * 1024 * 1024
    static let answerContentType =
        "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"

    func respond(to request: Request, context: some RequestContext) async throws -> Response {
        tenant.count { $0.presenceRequests += 1 }
        let requestID = JSONText.newGUID()
        let clientRequestID = request.headers[GraphHeaders.clientRequestID]
        if let refusal = tenant.refusal(of: request, requestID: requestID, clientRequestID: clientRequestID) {
            return refusal
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maximumBodyBytes)
        } catch {
            tenant.count { $0.rejectedRequests += 1 }
            return GraphError(
                status: .contentTooLarge, code: "RequestEntityTooLarge", message: "The body is too large."
            )
            .response(requestID: requestID, clientRequestID: clientRequestID)
        }
        if let fault = tenant.dequeueFault() {
            logger.debug("serving fault", metadata: ["fault": "\(fault)", "request-id": "\(requestID)"])
            if let response = try await FaultResponder(tenant: tenant, json: json)
                .respond(
                    to: fault, request: request, body: body, requestID: requestID, clientRequestID: clientRequestID)
            {
                return response
            }
        }
        do {
            let ids = try PresenceRequest(body: body, directory: tenant.directory)
            if !ids.unknownIDs.isEmpty, tenant.configuration.unknownIDBehaviour == .rejectRequest {
                let more = ids.unknownIDs.count > 1 ? " (and \(ids.unknownIDs.count - 1) more)" : ""
                throw GraphError(
                    status: .badRequest, code: "BadRequest",
                    message: "Could not find a user with id '\(ids.unknownIDs[0])'\(more).")
            }
            let (served, customMessages) = SinglePresenceJSON.split(
                tenant.serve(ids.knownIndices), overrides: tenant.overrides)
            let placeholders = tenant.configuration.unknownIDBehaviour == .presenceUnknown ? ids.unknownIDs : []
            if !placeholders.isEmpty {
                tenant.count { $0.usersServed += placeholders.count }
            }
            var buffer = ByteBuffer()
            json.writeAnswer(
                served: served, unknownIDs: placeholders, directory: tenant.directory,
                graphBaseURL: GraphHeaders.baseURL(of: request), into: &buffer)
            SinglePresenceJSON.append(
                customMessages, directory: tenant.directory, to: &buffer,
                arrayIsEmpty: served.isEmpty && placeholders.isEmpty)
            var headers = GraphHeaders.make(requestID: requestID, clientRequestID: clientRequestID)
            headers[.contentType] = Self.answerContentType
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: buffer))
        } catch let error as GraphError {
            tenant.count { $0.rejectedRequests += 1 }
            return error.response(requestID: requestID, clientRequestID: clientRequestID)
        }
    }

    /// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), nil otherwise.
    static func bearerToken(in authorization: String?) -> String? {
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            return nil
        }
        return authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
    }
}

extension SimulatedTenant.TokenVerdict {
    /// Graph's message for each way a token can fail (for people reading logs; never for branching).
    var message: String {
        switch self {
        case .valid: "Access token is valid."
        case .missing: "Access token is empty."
        case .unknown: "IDX14100: JWT is not well formed, there are no dots (.)."
        case .expired: "Lifetime validation failed, the token is expired."
        case .revoked: "Access token has been revoked."
        }
    }
}

/// A validated getPresencesByUserId body: distinct known users in request order, and the unknown ids.
struct PresenceRequest {
    private struct Body: Decodable {
        var ids: [String]?
    }

    /// Directory indices of the distinct known ids, in first-request order.
    var knownIndices: [Int] = []
    /// Well-formed ids naming no user, distinct, in request order.
    var unknownIDs: [String] = []

    init(body: ByteBuffer, directory: UserDirectory) throws(GraphError) {
        let ids = try Self.decodeIDs(body)
        guard !ids.isEmpty else {
            throw GraphError(status: .badRequest, code: "InvalidRequest", message: "The 'ids' list must not be empty.")
        }
        guard ids.count <= PresenceEndpoint.maximumIDs else {
            throw GraphError(
                status: .badRequest, code: "InvalidRequest",
                message:
                    "Too many ids: \(ids.count). At most \(PresenceEndpoint.maximumIDs) ids are allowed per request.")
        }
        var seen = Set<Int>(minimumCapacity: ids.count)
        var seenUnknown = Set<String>()
        knownIndices.reserveCapacity(ids.count)
        for id in ids {
            if let index = directory.index(of: id) {
                if seen.insert(index).inserted { knownIndices.append(index) }
            } else if UserDirectory.isGUID(id) {
                if seenUnknown.insert(id.lowercased()).inserted { unknownIDs.append(id) }
            } else {
                throw GraphError(
                    status: .badRequest, code: "InvalidRequest",
                    message: "Invalid id '\(id)': only user object ids (GUIDs) are accepted.")
            }
        }
    }

    /// Decodes `{"ids":[string...]}`; lenient about other members, strict about the shape of `ids`.
    static func decodeIDs(_ body: ByteBuffer) throws(GraphError) -> [String] {
        let data = body.withUnsafeReadableBytes { Data($0) }
        let decoded: Body
        do {
            decoded = try JSONDecoder().decode(Body.self, from: data)
        } catch DecodingError.typeMismatch(_, let context) where !context.codingPath.isEmpty {
            throw GraphError(
                status: .badRequest, code: "BadRequest", message: "Property 'ids' must be an array of strings.")
        } catch DecodingError.valueNotFound(_, let context) where !context.codingPath.isEmpty {
            throw GraphError(
                status: .badRequest, code: "BadRequest", message: "Property 'ids' must not contain null.")
        } catch {
            throw GraphError(
                status: .badRequest, code: "BadRequest",
                message: "Unable to read JSON request payload. Please ensure Content-Type header is set and payload "
                    + "is of valid JSON format.")
        }
        guard let ids = decoded.ids else {
            throw GraphError(status: .badRequest, code: "BadRequest", message: "Required property 'ids' is missing.")
        }
        return ids
    }
}
