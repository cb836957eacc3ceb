/// A misbehaviour to serve instead of (or before) a normal presence answer.
///
/// Faults are queued with ``GraphSimulator/inject(_:)`` and consumed first in, first out: one fault per presence
/// request whose access token is valid (a 401 for a bad token consumes nothing). After the queue empties, normal
/// service resumes. Faults never change or record user state.
public enum SimulatedFault: Sendable, Equatable {
    /// Answer this status with a Graph-shaped error body (`TooManyRequests` for 429, `ServiceUnavailable` for 503,
    /// `GatewayTimeout` for 504, ...) and, when given, a `Retry-After` header in seconds.
    case status(Int, retryAfterSeconds: Int?)
    /// 200 with a body that is not JSON at all (an HTML error page, as a misbehaving proxy would send).
    case malformedJSON
    /// 200 with the first half of a valid answer for the request's ids (current states; nothing changes).
    case truncatedJSON
    /// 200 with `{"something":"else"}`: valid JSON without the `value` array.
    case missingValueArray
    /// 401 `InvalidAuthenticationToken` although the token is valid (the token stays valid afterwards).
    case invalidToken
    /// Wait this long, then answer the request normally.
    case delay(milliseconds: Int)
}

/// JSON form used by `POST /_simulator/faults`, one object per fault:
///
/// ```json
/// [{"kind": "status", "status": 429, "retryAfterSeconds": 2},
///  {"kind": "malformedJSON"}, {"kind": "truncatedJSON"}, {"kind": "missingValueArray"},
///  {"kind": "invalidToken"}, {"kind": "delay", "milliseconds": 250}]
/// ```
extension SimulatedFault: Codable {
    private enum CodingKeys: String, CodingKey {
        case kind, status, retryAfterSeconds, milliseconds
    }

    private enum Kind: String, Codable {
        case status, malformedJSON, truncatedJSON, missingValueArray, invalidToken, delay
    }

    /// Decodes the JSON form documented on this extension.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(Kind.self, forKey: .kind) {
        case .status:
            let status = try container.decode(Int.self, forKey: .status)
            guard (100...599).contains(status) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .status, in: container, debugDescription: "HTTP status \(status) is out of range")
            }
            let retryAfter = try container.decodeIfPresent(Int.self, forKey: .retryAfterSeconds)
            self = .status(status, retryAfterSeconds: retryAfter)
        case .malformedJSON: self = .malformedJSON
        case .truncatedJSON: self = .truncatedJSON
        case .missingValueArray: self = .missingValueArray
        case .invalidToken: self = .invalidToken
        case .delay: self = .delay(milliseconds: try container.decode(Int.self, forKey: .milliseconds))
        }
    }

    /// Encodes the JSON form documented on this extension.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .status(let status, let retryAfter):
            try container.encode(Kind.status, forKey: .kind)
            try container.encode(status, forKey: .status)
            try container.encodeIfPresent(retryAfter, forKey: .retryAfterSeconds)
        case .malformedJSON: try container.encode(Kind.malformedJSON, forKey: .kind)
        case .truncatedJSON: try container.encode(Kind.truncatedJSON, forKey: .kind)
        case .missingValueArray: try container.encode(Kind.missingValueArray, forKey: .kind)
        case .invalidToken: try container.encode(Kind.invalidToken, forKey: .kind)
        case .delay(let milliseconds):
            try container.encode(Kind.delay, forKey: .kind)
            try container.encode(milliseconds, forKey: .milliseconds)
        }
    }
}

extension SimulatedFault {
    /// The Graph error `code` Graph uses for an HTTP status.
    static func graphErrorCode(forStatus status: Int) -> String {
        switch status {
        case 400: "BadRequest"
        case 401: "InvalidAuthenticationToken"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 409: "Conflict"
        case 429: "TooManyRequests"
        case 500: "InternalServerError"
        case 502: "BadGateway"
        case 503: "ServiceUnavailable"
        case 504: "GatewayTimeout"
        default: "UnknownError"
        }
    }

    /// The human message Graph pairs with ``graphErrorCode(forStatus:)``; callers must never match on it.
    static func graphErrorMessage(forStatus status: Int) -> String {
        switch status {
        case 429: "Please retry again later."
        case 503: "The service is temporarily unavailable. Please retry later."
        case 504: "The request timed out."
        case 500: "An internal server error occurred."
        default: "Simulated failure with HTTP status \(status)."
        }
    }
}
