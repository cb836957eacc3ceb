import Foundation

extension GraphError {
    /// Graph's error document, `{"error":{"code","message","innerError":{...}}}`; only the fields we report.
    private struct ErrorDocument: Decodable {
        struct Body: Decodable {
            var code: String?
            var message: String?
        }
        var error: Body
    }

    /// Turns a non-success answer into `.status`, reading Graph's error document when there is one.
    ///
    /// Shared by every Graph client so that all failures read the same way: status, Graph's `error.code`, its
    /// message and the request-id an operator quotes to Microsoft support. Bodies that are not an error document
    /// (a proxy's HTML page, say) still yield the status and request-id.
    static func fromAnswer(_ answer: HTTPAnswer) -> GraphError {
        let document = try? JSONDecoder().decode(ErrorDocument.self, from: Data(answer.body.readableBytesView))
        return .status(
            answer.status, code: document?.error.code, message: document?.error.message,
            requestID: answer.requestID, retryAfterSeconds: answer.retryAfterSeconds)
    }
}
