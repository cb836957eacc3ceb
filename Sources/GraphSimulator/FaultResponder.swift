import Hummingbird

/// Turns a dequeued ``SimulatedFault`` into the answer Graph (or something in front of it) would give.
///
/// Faults never change, record or count user state: a truncated answer shows current states untouched.
struct FaultResponder: Sendable {
    let tenant: SimulatedTenant
    let json: PresenceJSON

    /// The fault's answer, or nil when the request must then be answered normally (after a delay).
    func respond(
        to fault: SimulatedFault, request: Request, body: ByteBuffer, requestID: String, clientRequestID: String?
    ) async throws -> Response? {
        switch fault {
        case .status(let status, let retryAfterSeconds):
            let error = GraphError(
                status: HTTPResponse.Status(code: status),
                code: SimulatedFault.graphErrorCode(forStatus: status),
                message: SimulatedFault.graphErrorMessage(forStatus: status))
            return error.response(
                requestID: requestID, clientRequestID: clientRequestID, retryAfterSeconds: retryAfterSeconds)
        case .malformedJSON:
            let html =
                "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
                + "<body><h1>Bad Gateway</h1><p>The upstream answered nonsense.</p></body></html>"
            return ok(ByteBuffer(string: html), requestID: requestID, clientRequestID: clientRequestID)
        case .truncatedJSON:
            var buffer = ByteBuffer()
            let indices = (try? PresenceRequest(body: body, directory: tenant.directory))?.knownIndices ?? []
            json.writeAnswer(
                served: tenant.peek(indices), unknownIDs: [], directory: tenant.directory,
                graphBaseURL: GraphHeaders.baseURL(of: request), into: &buffer)
            let half = buffer.getSlice(at: buffer.readerIndex, length: buffer.readableBytes / 2) ?? ByteBuffer()
            return ok(half, requestID: requestID, clientRequestID: clientRequestID)
        case .missingValueArray:
            return ok(
                ByteBuffer(string: "{\"something\":\"else\"}"), requestID: requestID, clientRequestID: clientRequestID)
        case .invalidToken:
            let error = GraphError(
                status: .unauthorized, code: "InvalidAuthenticationToken",
                message: "Access token validation failure. Invalid audience.")
            return error.response(requestID: requestID, clientRequestID: clientRequestID)
        case .delay(let milliseconds):
            try await Task.sleep(for: .milliseconds(max(0, milliseconds)))
            return nil
        }
    }

    private func ok(_ body: ByteBuffer, requestID: String, clientRequestID: String?) -> Response {
        var headers = GraphHeaders.make(requestID: requestID, clientRequestID: clientRequestID)
        headers[.contentType] = PresenceEndpoint.answerContentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }
}
