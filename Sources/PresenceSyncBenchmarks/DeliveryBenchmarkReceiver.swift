import Foundation
import HTTPHosting
import Hummingbird
import Logging
import PresenceSync
import Synchronization

/// The webhook receiver of the delivery benchmark: a real HTTP server on 127.0.0.1, in the benchmark's own process
/// (never in the daemon's), that checks every request's signature and counts the events it carried.
///
/// It does what a lean production receiver does per request: read the body, verify the Standard Webhooks
/// signature, count the events (one per structured request; the `"specversion"` members of a batch), answer 204.
final class DeliveryBenchmarkReceiver: Sendable {
    struct Counts: Sendable {
        var requests = 0
        var events = 0
        var badSignatures = 0
        /// Requests whose webhook-id had been acknowledged before (at-least-once redeliveries).
        var repeatedRequests = 0
        var firstEventAt: ContinuousClock.Instant?
        var lastEventAt: ContinuousClock.Instant?
    }

    private struct State: Sendable {
        var counts = Counts()
        var seenIDs = Set<String>()
    }

    /// The counters, shared by reference with the request handler.
    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    var port: Int { hosted.port }
    private let shared: Shared
    private let hosted: HostedServer

    init(secret: WebhookSecret) async throws {
        let shared = Shared()
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 64 * 1024 * 1024)
            let bytes = body.readableBytesView
            let id = request.headers[.init("webhook-id")!] ?? ""
            let timestamp = request.headers[.init("webhook-timestamp")!] ?? ""
            let signature = request.headers[.init("webhook-signature")!] ?? ""
            let valid =
                Int64(timestamp).map {
                    WebhookSigner.signature(id: id, timestamp: $0, body: bytes, secrets: [secret]) == signature
                } ?? false
            let events = Self.countEvents(bytes)
            let now = ContinuousClock.now
            shared.state.withLock { state in
                state.counts.requests += 1
                state.counts.events += events
                if !valid { state.counts.badSignatures += 1 }
                if !state.seenIDs.insert(id).inserted { state.counts.repeatedRequests += 1 }
                if state.counts.firstEventAt == nil { state.counts.firstEventAt = now }
                state.counts.lastEventAt = now
            }
            return Response(status: .noContent)
        }
        do {
            hosted = try await HostedServer.start(
                router: router, host: "127.0.0.1", port: 0, logger: Logger(label: "benchmark-receiver"))
        } catch {
            throw BenchmarkError("the benchmark's webhook receiver could not listen: \(error)")
        }
        self.shared = shared
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    var counts: Counts { shared.state.withLock { $0.counts } }

    func stop() async { await hosted.stop() }

    /// Events in one body: a batch is a JSON array of CloudEvents, each with exactly one `"specversion"` member
    /// (status messages are JSON strings, where a quote is escaped, so they cannot contain the quoted name).
    static func countEvents(_ body: some Collection<UInt8>) -> Int {
        let needle = Array(#""specversion""#.utf8)
        let bytes = Array(body)
        guard bytes.first == UInt8(ascii: "[") else { return 1 }
        var count = 0
        var index = 0
        let last = bytes.count - needle.count
        while index <= last {
            if bytes[index] == needle[0] && bytes[index..<index + needle.count].elementsEqual(needle) {
                count += 1
                index += needle.count
            } else {
                index += 1
            }
        }
        return count
    }
}
