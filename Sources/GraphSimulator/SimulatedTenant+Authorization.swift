import Hummingbird

extension SimulatedTenant {
    /// The 401 `InvalidAuthenticationToken` answer for a request without a valid bearer token (counted as
    /// rejected), or nil when its token is valid: the first check of every Graph endpoint the simulator serves.
    func refusal(of request: Request, requestID: String, clientRequestID: String?) -> Response? {
        let verdict = verifyToken(PresenceEndpoint.bearerToken(in: request.headers[.authorization]))
        guard verdict != .valid else { return nil }
        count { $0.rejectedRequests += 1 }
        return GraphError(status: .unauthorized, code: "InvalidAuthenticationToken", message: verdict.message)
            .response(requestID: requestID, clientRequestID: clientRequestID)
    }
}
