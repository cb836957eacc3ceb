/// Everything that can go wrong talking to Entra or Graph, with the context an operator needs.
///
/// Messages carry URLs, status codes, Graph error codes and request ids, never tokens or secrets.
public enum GraphError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The connection failed or timed out.
    case transport(url: String, reason: String)
    /// Graph answered with an error status; `code` is Graph's `error.code`.
    case status(Int, code: String?, message: String?, requestID: String?, retryAfterSeconds: Double?)
    /// Graph answered 200 but the body is not the documented shape.
    case malformedAnswer(reason: String, requestID: String?)
    /// Signing in failed.
    case authentication(AuthenticationError)
    /// The work was cancelled because the daemon is stopping.
    case cancelled

    public var description: String {
        switch self {
        case .transport(let url, let reason):
            return "request to \(url) failed: \(reason)"
        case .status(let status, let code, let message, let requestID, let retryAfter):
            var text = "Graph answered HTTP \(status)"
            if let code { text += " \(code)" }
            if let message { text += ": \(message)" }
            if let retryAfter { text += " (Retry-After \(retryAfter) s)" }
            if let requestID { text += " [request-id \(requestID)]" }
            return text
        case .malformedAnswer(let reason, let requestID):
            return "Graph's answer is malformed: \(reason)" + (requestID.map { " [request-id \($0)]" } ?? "")
        case .authentication(let error):
            return error.description
        case .cancelled:
            return "cancelled"
        }
    }

    /// True when a later attempt may succeed (throttling, server trouble, network trouble).
    public var isTransient: Bool {
        switch self {
        case .transport: true
        case .status(let status, _, _, _, _): status == 429 || status >= 500
        case .malformedAnswer, .authentication, .cancelled: false
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
