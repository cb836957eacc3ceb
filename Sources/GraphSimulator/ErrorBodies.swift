import Foundation
import Hummingbird

/// JSON text helpers shared by the hand-written answers.
enum JSONText {
    /// `text` as a JSON string literal: quotes, backslashes and control characters escaped, the rest raw UTF-8.
    static func quoted(_ text: String) -> String {
        var result = "\""
        result.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            case "\u{2028}": result += "\\u2028"  // legal raw in JSON but not in JavaScript source: escape it
            case "\u{2029}": result += "\\u2029"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// A new lower-case GUID, as Graph and Entra use for request, trace and correlation ids.
    static func newGUID() -> String {
        UUID().uuidString.lowercased()
    }

    /// Now as Graph's `innerError.date`: `2026-11-29T02:13:45` (UTC, no zone suffix).
    static func graphDate(_ date: Date = Date()) -> String {
        String(date.formatted(.iso8601).dropLast())
    }

    /// Now as Entra's `timestamp`: `2026-11-29 02:13:45Z`.
    static func entraTimestamp(_ date: Date = Date()) -> String {
        date.formatted(.iso8601).replacingOccurrences(of: "T", with: " ")
    }
}

/// Graph's error answer: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
///
/// Callers must branch on `code` and the HTTP status, never on `message`.
struct GraphError: Error, Sendable {
    let status: HTTPResponse.Status
    let code: String
    let message: String

    /// The error as a complete response with Graph's headers (and `Retry-After` when given).
    func response(requestID: String, clientRequestID: String?, retryAfterSeconds: Int? = nil) -> Response {
        var inner = "\"date\":\(JSONText.quoted(JSONText.graphDate())),\"request-id\":\(JSONText.quoted(requestID))"
        inner += ",\"client-request-id\":\(JSONText.quoted(clientRequestID ?? requestID))"
        if [429, 503, 504].contains(status.code) {
            inner = "\"code\":\"\(status.code)\",\(inner),\"status\":\"\(status.code)\""
        }
        let body =
            "{\"error\":{\"code\":\(JSONText.quoted(code)),\"message\":\(JSONText.quoted(message)),"
            + "\"innerError\":{\(inner)}}}"
        var headers = GraphHeaders.make(requestID: requestID, clientRequestID: clientRequestID)
        headers[.contentType] = "application/json"
        if let retryAfterSeconds {
            headers[.retryAfter] = String(retryAfterSeconds)
        }
        if status == .unauthorized {
            headers[.wwwAuthenticate] = GraphHeaders.bearerChallenge
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Headers every Graph answer carries.
enum GraphHeaders {
    static let requestID = HTTPFields.Element.Name("request-id")!
    static let clientRequestID = HTTPFields.Element.Name("client-request-id")!
    static let diagnostic = HTTPFields.Element.Name("x-ms-ags-diagnostic")!
    static let bearerChallenge =
        "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", "
        + "client_id=\"00000003-0000-0000-c000-000000000000\""

    /// `http://<Host header>`: the simulator's base URL as the client addressed it.
    static func baseURL(of request: Request) -> String {
        "http://" + (request.head.authority ?? "127.0.0.1")
    }

    /// `request-id` always, `client-request-id` echoed (Graph reuses the request id when none was sent).
    static func make(requestID: String, clientRequestID: String?) -> HTTPFields {
        var headers = HTTPFields()
        headers[Self.requestID] = requestID
        headers[Self.clientRequestID] = clientRequestID ?? requestID
        headers[Self.diagnostic] =
            "{\"ServerInfo\":{\"DataCenter\":\"Simulated\",\"Slice\":\"E\",\"Ring\":\"0\",\"ScaleUnit\":\"000\","
            + "\"RoleInstance\":\"SIM\"}}"
        return headers
    }
}

/// Entra's OAuth error answer: `{"error","error_description","error_codes","timestamp","trace_id",
/// "correlation_id","error_uri"}`, where `error_description` starts with `AADSTSnnnn: `.
struct EntraError: Error, Sendable {
    let status: HTTPResponse.Status
    /// The OAuth `error` value, e.g. `invalid_client`.
    let error: String
    /// The AADSTS number, e.g. 7000215.
    let number: Int
    /// The text after `AADSTSnnnn: `.
    let description: String

    /// The error as a complete response; the correlation id echoes `client-request-id` as Entra does.
    func response(clientRequestID: String?, authority: String) -> Response {
        let traceID = JSONText.newGUID()
        let correlationID = clientRequestID ?? JSONText.newGUID()
        let timestamp = JSONText.entraTimestamp()
        let text =
            "AADSTS\(number): \(description) Trace ID: \(traceID) Correlation ID: \(correlationID) "
            + "Timestamp: \(timestamp)"
        let body =
            "{\"error\":\(JSONText.quoted(error)),\"error_description\":\(JSONText.quoted(text)),"
            + "\"error_codes\":[\(number)],\"timestamp\":\(JSONText.quoted(timestamp)),"
            + "\"trace_id\":\(JSONText.quoted(traceID)),\"correlation_id\":\(JSONText.quoted(correlationID)),"
            + "\"error_uri\":\(JSONText.quoted("\(authority)/error?code=\(number)"))}"
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store, no-cache"
        headers[GraphHeaders.clientRequestID] = correlationID
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
