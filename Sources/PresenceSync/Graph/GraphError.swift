/// Everything that can go wrong talking to Entra or Graph, with the context an operator needs.
///
/// A struct wrapping a `Code` (swift-service-lifecycle's error style) rather than an enum: a new kind of failure
/// can be added without breaking callers, who compare `code` instead of switching over every case. Messages carry
/// URLs, status codes, Graph error codes and request ids, never tokens or secrets.
public struct GraphError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case transport, status, malformedAnswer, authentication, cancelled
        }

        private let base: Base

        /// The connection failed or timed out.
        public static let transport = Code(base: .transport)
        /// Graph answered with an error status.
        public static let status = Code(base: .status)
        /// Graph answered 200 but the body is not the documented shape.
        public static let malformedAnswer = Code(base: .malformedAnswer)
        /// Signing in failed.
        public static let authentication = Code(base: .authentication)
        /// The work was cancelled because the daemon is stopping.
        public static let cancelled = Code(base: .cancelled)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The URL of a request that got no answer (`transport`).
    public private(set) var url: String?
    /// Why: the transport failure, or what is wrong with a malformed answer.
    public private(set) var reason: String?
    /// The HTTP status (`status`).
    public private(set) var httpStatus: Int?
    /// Graph's `error.code` (`status`), when its answer had an error document.
    public private(set) var graphCode: String?
    /// Graph's `error.message` (`status`).
    public private(set) var message: String?
    /// The request-id Graph gave the failed request, when known.
    public private(set) var requestID: String?
    /// `Retry-After` in seconds, when the answer carried one (`status`).
    public private(set) var retryAfterSeconds: Double?
    /// Entra's refusal (`authentication`).
    public private(set) var authenticationFailure: AuthenticationError?

    private init(_ code: Code) { self.code = code }

    /// The connection to `url` failed or timed out.
    public static func transport(url: String, reason: String) -> GraphError {
        var error = GraphError(.transport)
        error.url = url
        error.reason = reason
        return error
    }

    /// Graph answered `status`; `code` is Graph's `error.code`.
    public static func status(
        _ status: Int, code: String?, message: String?, requestID: String?, retryAfterSeconds: Double?
    ) -> GraphError {
        var error = GraphError(.status)
        error.httpStatus = status
        error.graphCode = code
        error.message = message
        error.requestID = requestID
        error.retryAfterSeconds = retryAfterSeconds
        return error
    }

    /// Graph answered 200 but the body is not the documented shape.
    public static func malformedAnswer(reason: String, requestID: String?) -> GraphError {
        var error = GraphError(.malformedAnswer)
        error.reason = reason
        error.requestID = requestID
        return error
    }

    /// Signing in failed.
    public static func authentication(_ failure: AuthenticationError) -> GraphError {
        var error = GraphError(.authentication)
        error.authenticationFailure = failure
        return error
    }

    /// The work was cancelled because the daemon is stopping.
    public static let cancelled = GraphError(.cancelled)

    public var description: String {
        switch code {
        case .transport:
            return "request to \(url ?? "?") failed: \(reason ?? "unknown reason")"
        case .status:
            var text = "Graph answered HTTP \(httpStatus ?? 0)"
            if let graphCode { text += " \(graphCode)" }
            if let message { text += ": \(message)" }
            if let retryAfterSeconds { text += " (Retry-After \(retryAfterSeconds) s)" }
            if let requestID { text += " [request-id \(requestID)]" }
            return text
        case .malformedAnswer:
            return "Graph's answer is malformed: \(reason ?? "")" + (requestID.map { " [request-id \($0)]" } ?? "")
        case .authentication:
            return authenticationFailure?.description ?? "sign-in failed"
        default:
            return code.description
        }
    }

    /// True when a later attempt may succeed (throttling, server trouble, network trouble).
    public var isTransient: Bool {
        switch code {
        case .transport: true
        case .status: httpStatus == 429 || (httpStatus ?? 0) >= 500
        default: false
        }
    }
}

/// Entra refused to issue a token. Carries the AADSTS code and a hint for the operator.
public struct AuthenticationError: Error, CustomStringConvertible, Sendable, Equatable {
    public var status: Int?
    /// OAuth2 `error` (invalid_client, unauthorized_client, invalid_tenant ...).
    public var error: String?
    /// The first AADSTS code, e.g. 7000215.
    public var aadstsCode: Int?
    /// The first line of Entra's description (it names the problem, never the secret).
    public var detail: String
    public var traceID: String?
    /// The token endpoint's `Retry-After` (seconds), when it sent one; the next sign-in waits at least this long.
    public var retryAfterSeconds: Double?

    public var description: String {
        var text = "sign-in failed"
        if let status { text += " (HTTP \(status)" + (error.map { " \($0)" } ?? "") + ")" }
        // Entra's description starts with the code already; a locally made detail does not.
        if let aadstsCode, !detail.hasPrefix("AADSTS\(aadstsCode)") { text += " AADSTS\(aadstsCode)" }
        text += ": \(detail)"
        if let hint { text += " — \(hint)" }
        if let traceID { text += " [trace-id \(traceID)]" }
        return text
    }

    /// What to do about the most common AADSTS codes (and about a failing token endpoint).
    public var hint: String? {
        switch aadstsCode {
        case 7_000_215: "the client secret is wrong: use the secret's Value, not its Secret ID"
        case 7_000_222: "the client secret has expired: create a new one in the app registration"
        case 7_000_218: "no credential reached Entra: check the credential settings"
        case 700_016: "the application is not known in this tenant: check clientId and tenantId (admin consent?)"
        case 90_002: "the tenant was not found: check tenantId and the cloud setting"
        case 700_027:
            "Entra does not accept the certificate or the assertion's signature: upload this certificate (the .cer/"
                + "PEM, not the key) under Certificates & secrets of the app registration, and check that the key "
                + "file belongs to it"
        case 700_024:
            "the client assertion is outside its valid time range: check this machine's clock (NTP)"
        case 700_023:
            "the client assertion's audience is not this tenant's token endpoint: check tenantId, cloud and "
                + "authorityHost"
        case 700_021: "the client assertion names another application: check clientId"
        case 50_027: "Entra could not read the client assertion: report this as a bug"
        case nil where (status ?? 0) >= 500:
            "the token endpoint is failing; sign-in is retried with backoff"
        default: nil
        }
    }
}
