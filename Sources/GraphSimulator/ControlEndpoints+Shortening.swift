import Foundation
import Hummingbird

/// The control endpoints of answer shortening (see ``AnswerShortening``), for simulators in another process.
///
/// - `PUT /_simulator/shortening`: body `{"fields":["statusMessage"],"userFraction":0.3,"answerFraction":0.05}`
///   puts it in force from the next serve (204). 400 with `{"error": "..."}` naming the problem when the body is not
///   such an object, a key is missing or mistyped, a field cannot be omitted or a fraction lies outside 0...1.
/// - `GET /_simulator/shortening`: the shortening in force in the same form, or `null`.
/// - `DELETE /_simulator/shortening`: complete answers again (204).
/// - `GET /_simulator/served-answers/{userID}`: JSON array of ``ServedAnswer`` (empty unless `recordServedStates`);
///   404 for an unknown user.
extension ControlEndpoints {
    /// Registers the endpoints on the `_simulator` group.
    func registerShortening(on group: RouterGroup<BasicRequestContext>) {
        group.put("shortening") { request, _ in try await setShortening(request) }
        group.get("shortening") { _, _ in
            guard let shortening = tenant.shortening else {
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: "null")))
            }
            return try jsonResponse(shortening)
        }
        group.delete("shortening") { _, _ in
            tenant.setShortening(nil)
            return Response(status: .noContent)
        }
        group.get("served-answers/:userID") { _, context in
            try userResponse(context) { tenant.servedRuns(index: $0).map(\.servedAnswer) }
        }
    }

    private func setShortening(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 64 * 1024)
        do {
            let shortening = try JSONDecoder().decode(
                AnswerShortening.self, from: body.withUnsafeReadableBytes { Data($0) })
            try shortening.validate()
            tenant.setShortening(shortening)
            return Response(status: .noContent)
        } catch let error as DecodingError {
            return Self.errorResponse(.badRequest, "Cannot set the shortening: \(Self.describe(error))")
        } catch let error as GraphSimulatorError {
            return Self.errorResponse(.badRequest, "Cannot set the shortening: \(error.message)")
        }
    }

    /// What is wrong with the body, in the terms of its JSON form.
    private static func describe(_ error: DecodingError) -> String {
        let expected = "expected {\"fields\":[names],\"userFraction\":number,\"answerFraction\":number}"
        switch error {
        case .keyNotFound(let key, _):
            return "'\(key.stringValue)' is missing; \(expected)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            guard let key = context.codingPath.first else { return "the body is not an object; \(expected)" }
            return "'\(key.stringValue)' has the wrong type; \(expected)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not JSON; \(expected)" : context.debugDescription
        @unknown default:
            return "\(error); \(expected)"
        }
    }

    /// `{"error": message}` with `status`.
    static func errorResponse(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\(JSONText.quoted(message))}")))
    }
}
