import Crypto
import Foundation
import HTTPHosting
import Hummingbird
import Logging
import Synchronization

/// A real loopback webhook receiver for tests: verifies every Standard Webhooks signature on its own (HMAC-SHA256
/// from swift-crypto, not the daemon's signer), records what arrived, and answers as scripted.
public final class WebhookReceiver: Sendable {
    /// How the receiver answers the next requests.
    public enum Behaviour: Sendable, Equatable {
        case accept
        /// Answer with this status (e.g. 500, 410, 400).
        case fail(status: Int)
        /// 429 with `Retry-After: seconds`.
        case tooManyRequests(retryAfterSeconds: Int)
        /// Wait this long before answering 200 (beyond the daemon's timeout: it gives up first).
        case hang(seconds: Double)
    }

    /// One request as received.
    public struct Delivery: Sendable {
        public var webhookID: String
        public var timestamp: String
        public var contentType: String
        public var signatureValid: Bool
        public var headers: [String: String]
        /// The CloudEvents in the body (one in structured mode, several in batch mode), as JSON objects' ids,
        /// subjects and history ids.
        public var events: [(id: String, subject: String, historyID: Int64)]
        public var receivedAt: ContinuousClock.Instant
        /// The status the receiver answered (0: held past the client's timeout by `.hang`).
        public var status: Int
        /// The body's size in bytes.
        public var bodyBytes: Int = 0
        /// Each event's CloudEvents `type` and whether it carries `replayed: true`, in `events` order.
        public var kinds: [(type: String, replayed: Bool)] = []
    }

    private struct State {
        var behaviour: Behaviour = .accept
        var deliveries: [Delivery] = []
    }

    /// Key bytes of each secret (`SymmetricKey` itself is not `Sendable`).
    private let keys: [[UInt8]]
    /// The state shared with the request handler (a class, so the handler can hold it; `Mutex` cannot be copied).
    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let shared = Shared()
    private let hosted: HostedServer
    public var port: Int { hosted.port }

    /// Starts listening on 127.0.0.1 (a random port) and verifies signatures against `secrets` (`whsec_...`).
    public init(secrets: [String]) async throws {
        keys = secrets.map { Array(Data(base64Encoded: String($0.dropFirst(6)))!) }
        let router = Router()
        let keys = self.keys
        let shared = self.shared
        router.post("hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 64 * 1024 * 1024)
            let bytes = Array(body.readableBytesView)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let id = headers["webhook-id"] ?? ""
            let timestamp = headers["webhook-timestamp"] ?? ""
            let valid = Self.verify(
                id: id, timestamp: timestamp, body: bytes, signatures: headers["webhook-signature"] ?? "",
                keys: keys.map { SymmetricKey(data: $0) })
            let behaviour = shared.state.withLock { $0.behaviour }
            let status: Int
            var answerHeaders: HTTPFields = [:]
            switch behaviour {
            case .accept: status = 200
            case .fail(let code): status = code
            case .tooManyRequests(let seconds):
                status = 429
                answerHeaders[.retryAfter] = String(seconds)
            case .hang(let seconds):
                // Recorded on arrival (status 0: never answered in time), then answered late.
                shared.state.withLock {
                    $0.deliveries.append(
                        Delivery(
                            webhookID: id, timestamp: timestamp, contentType: headers["content-type"] ?? "",
                            signatureValid: valid, headers: headers, events: Self.events(in: bytes), receivedAt: .now,
                            status: 0, bodyBytes: bytes.count, kinds: Self.kinds(in: bytes)))
                }
                try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                return Response(status: .ok)
            }
            let delivery = Delivery(
                webhookID: id, timestamp: timestamp, contentType: headers["content-type"] ?? "", signatureValid: valid,
                headers: headers, events: Self.events(in: bytes), receivedAt: .now, status: status,
                bodyBytes: bytes.count, kinds: Self.kinds(in: bytes))
            shared.state.withLock { $0.deliveries.append(delivery) }
            return Response(status: .init(code: status), headers: answerHeaders)
        }
        hosted = try await HostedServer.start(
            router: router, host: "127.0.0.1", port: 0, logger: Logger(label: "webhook-receiver"))
    }

    /// The URL the daemon posts to.
    public var url: String { "http://127.0.0.1:\(port)/hook" }

    public func set(_ behaviour: Behaviour) { shared.state.withLock { $0.behaviour = behaviour } }

    public var deliveries: [Delivery] { shared.state.withLock { $0.deliveries } }

    /// Deliveries the receiver acknowledged (2xx), in arrival order.
    public var acknowledged: [Delivery] { deliveries.filter { (200..<300).contains($0.status) } }

    /// Waits until `condition` holds on the deliveries, or `timeout` passes; returns whether it held.
    public func wait(
        timeout: Duration = .seconds(30), until condition: @Sendable ([Delivery]) -> Bool
    ) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(deliveries) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition(deliveries)
    }

    public func stop() async { await hosted.stop() }

    /// Standard Webhooks verification: any `v1,` signature in the space-separated list matches one key.
    public static func verify(
        id: String, timestamp: String, body: [UInt8], signatures: String, keys: [SymmetricKey]
    ) -> Bool {
        let content = Array("\(id).\(timestamp).".utf8) + body
        let expected = Set(
            keys.map { "v1," + Data(HMAC<SHA256>.authenticationCode(for: content, using: $0)).base64EncodedString() })
        return signatures.split(separator: " ").contains { expected.contains(String($0)) }
    }

    private static func kinds(in body: [UInt8]) -> [(type: String, replayed: Bool)] {
        guard let json = try? JSONSerialization.jsonObject(with: Data(body)) else { return [] }
        let objects = (json as? [[String: Any]]) ?? [(json as? [String: Any]) ?? [:]]
        return objects.compactMap { object in
            guard object["id"] is String, object["subject"] is String else { return nil }
            return ((object["type"] as? String) ?? "", (object["replayed"] as? Bool) ?? false)
        }
    }

    private static func events(in body: [UInt8]) -> [(id: String, subject: String, historyID: Int64)] {
        guard let json = try? JSONSerialization.jsonObject(with: Data(body)) else { return [] }
        let objects = (json as? [[String: Any]]) ?? [(json as? [String: Any]) ?? [:]]
        return objects.compactMap { object in
            guard let id = object["id"] as? String, let subject = object["subject"] as? String,
                let row = id.split(separator: ":").last.flatMap({ Int64($0) })
            else { return nil }
            return (id, subject, row)
        }
    }
}

extension WebhookReceiver {
    /// Verification with the secrets given as `whsec_...` text.
    public static func verify(id: String, timestamp: String, body: [UInt8], signatures: String, secrets: [String])
        -> Bool
    {
        let keys = secrets.map { SymmetricKey(data: Data(base64Encoded: String($0.dropFirst(6)))!) }
        return verify(id: id, timestamp: timestamp, body: body, signatures: signatures, keys: keys)
    }
}
