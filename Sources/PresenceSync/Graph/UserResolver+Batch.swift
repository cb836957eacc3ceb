import Foundation

/// What became of one user principal name.
public enum UPNResolution: Sendable, Equatable {
    /// The user's object id (lower-case).
    case resolved(String)
    /// The directory has no such user (404 inside the batch), or Graph refuses the name itself (400): asking again
    /// will not help. The request-id names the lookup.
    case notFound(requestID: String?)
    /// The lookup failed for another reason (Graph down, still throttled after the retries, malformed answer).
    case failed(GraphError)
}

extension UserResolver {
    /// Graph's limit on requests in one `$batch`.
    public static let maxBatchRequests = 20

    /// Resolves UPNs with `POST /$batch`, at most 20 `GET /users/{upn}?$select=id` per batch, batches one after
    /// another.
    ///
    /// Responses are matched by request id, never by position. Each item has its own status: 404 (and 400, a name
    /// Graph refuses) is `notFound`;
    /// 429, 503 and 504 are retried (that item only) after the largest `Retry-After` among them, or a backoff;
    /// other statuses are `failed`. A batch request that fails as a whole is retried the same way, then all of
    /// its UPNs are `failed`; if Graph could not be reached at all (network, sign-in, cancellation), the remaining
    /// batches are not sent and their UPNs fail the same way, so an outage costs one timeout, not one per batch.
    /// The answer has exactly one entry per distinct UPN given; nothing here throws.
    public func resolve(userPrincipalNames upns: [String]) async -> [String: UPNResolution] {
        var results: [String: UPNResolution] = [:]
        var unique: [String] = []
        for upn in upns where results.updateValue(.failed(.cancelled), forKey: upn) == nil { unique.append(upn) }
        var unreachable: GraphError?
        for start in stride(from: 0, to: unique.count, by: Self.maxBatchRequests) {
            let chunk = Array(unique[start..<min(start + Self.maxBatchRequests, unique.count)])
            if let unreachable {
                for upn in chunk { results[upn] = .failed(unreachable) }
                continue
            }
            let outcomes = await resolveBatch(chunk)
            for (upn, outcome) in outcomes { results[upn] = outcome }
            if case .failed(let error) = outcomes[chunk[0]], error.isUnreachable,
                chunk.allSatisfy({ outcomes[$0] == .failed(error) })
            {
                unreachable = error
            }
        }
        return results
    }

    /// One batch of at most 20 UPNs, with retries of throttled items.
    private func resolveBatch(_ upns: [String]) async -> [String: UPNResolution] {
        var results: [String: UPNResolution] = [:]
        var pending = upns
        var attempt = 0
        while !pending.isEmpty {
            let retry: (upns: [String], after: Double, error: GraphError)
            switch await sendBatch(pending) {
            case .failure(let error):
                retry = (pending, error.retryAfterSeconds ?? ResolutionBackoff.delay(attempt: attempt), error)
            case .success(let items):
                var again: [String] = []
                var wait = 0.0
                var lastError = GraphError.cancelled
                for upn in pending {
                    switch items[upn] {
                    case .some(.done(let outcome)):
                        results[upn] = outcome
                    case .some(.retry(let error)):
                        again.append(upn)
                        wait = max(wait, error.retryAfterSeconds ?? ResolutionBackoff.delay(attempt: attempt))
                        lastError = error
                    case .none:
                        let error = GraphError.malformedAnswer(
                            reason: "the $batch answer has no response for \(upn)", requestID: nil)
                        results[upn] = .failed(error)
                    }
                }
                retry = (again, wait, lastError)
            }
            guard !retry.upns.isEmpty else { break }
            attempt += 1
            guard attempt < ResolutionBackoff.maxAttempts, ResolutionBackoff.retries(retry.error) else {
                for upn in retry.upns { results[upn] = .failed(retry.error) }
                break
            }
            do {
                try await Task.sleep(for: .milliseconds(Int64(min(retry.after, ResolutionBackoff.maxDelay) * 1000)))
            } catch {
                for upn in retry.upns { results[upn] = .failed(.cancelled) }
                break
            }
            pending = retry.upns
        }
        return results
    }

    /// One item's fate within a batch answer.
    private enum ItemOutcome {
        case done(UPNResolution)
        case retry(GraphError)
    }

    /// Sends one `$batch` and sorts its responses by UPN.
    private func sendBatch(_ upns: [String]) async -> Result<[String: ItemOutcome], GraphError> {
        let requests: [[String: String]] = upns.enumerated().map { index, upn in
            ["id": String(index + 1), "method": "GET", "url": Self.path(forUPN: upn)]
        }
        let body: Data
        do {
            body = try JSONSerialization.data(
                withJSONObject: ["requests": requests], options: [.withoutEscapingSlashes])
        } catch {
            return .failure(.malformedAnswer(reason: "cannot encode the $batch request: \(error)", requestID: nil))
        }
        let answer: HTTPAnswer
        do {
            answer = try await session.send(.POST, "/$batch", json: body)
        } catch {
            return .failure(error)
        }
        guard answer.status == 200 else { return .failure(GraphError.fromAnswer(answer)) }
        guard let document = try? JSONDecoder().decode(BatchAnswer.self, from: Data(answer.body.readableBytesView))
        else {
            return .failure(
                .malformedAnswer(reason: "the $batch answer is not a response list", requestID: answer.requestID))
        }
        var outcomes: [String: ItemOutcome] = [:]
        for item in document.responses {
            guard let number = Int(item.id), (1...upns.count).contains(number) else { continue }
            let upn = upns[number - 1]
            outcomes[upn] = item.outcome(batchRequestID: answer.requestID)
        }
        return .success(outcomes)
    }

    /// `{"responses": [{"id", "status", "headers", "body"}]}`, in any order.
    private struct BatchAnswer: Decodable {
        var responses: [Item]
    }

    private struct Item: Decodable {
        var id: String
        var status: Int
        var headers: [String: String]
        var body: Body?

        struct Body: Decodable {
            var id: String?
            var error: ErrorBody?
        }

        struct ErrorBody: Decodable {
            var code: String?
            var message: String?
            var innerError: Inner?
        }

        struct Inner: Decodable {
            var requestID: String?
            enum CodingKeys: String, CodingKey { case requestID = "request-id" }
        }

        enum CodingKeys: String, CodingKey { case id, status, headers, body }

        /// Lenient where Graph varies: headers and body may be absent, and a non-JSON body comes as a string.
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            status = try container.decode(Int.self, forKey: .status)
            headers = (try? container.decodeIfPresent([String: String].self, forKey: .headers)) ?? [:]
            body = try? container.decodeIfPresent(Body.self, forKey: .body)
        }

        func outcome(batchRequestID: String?) -> ItemOutcome {
            let requestID = body?.error?.innerError?.requestID ?? header("request-id") ?? batchRequestID
            if status == 200 {
                guard let id = body?.id, UserIDs.isObjectID(id) else {
                    return .done(
                        .failed(.malformedAnswer(reason: "no object id in the user answer", requestID: requestID)))
                }
                return .done(.resolved(id.lowercased()))
            }
            if status == 404 || status == 400 { return .done(.notFound(requestID: requestID)) }
            let error = GraphError.status(
                status, code: body?.error?.code, message: body?.error?.message, requestID: requestID,
                retryAfterSeconds: header("retry-after").flatMap(Double.init))
            return error.isTransient ? .retry(error) : .done(.failed(error))
        }

        private func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name }?.value
        }
    }
}

/// When to retry a directory read: Graph's `Retry-After` when it sends one, else the shared `Backoff` from 1 s
/// (1, 2, 4, 8 s), without jitter: a resolution's requests are few and already spread by the `$batch` answers.
enum ResolutionBackoff {
    /// The delays between attempts, before any `Retry-After`.
    static let backoff = Backoff(initial: .seconds(1), maximum: .seconds(60))
    /// Attempts per request (the first one included).
    static let maxAttempts = 5
    /// No wait is longer than this, whatever `Retry-After` says: a resolution must end.
    static let maxDelay = 120.0

    /// True for the answers worth waiting for within one resolution: 429 and 5xx. Network failures are not
    /// retried here: Graph is unreachable, and the whole resolution runs again after `userResolution.retrySeconds`.
    static func retries(_ error: GraphError) -> Bool {
        error.httpStatus != nil && error.isTransient
    }

    /// Seconds before attempt `attempt + 1` when Graph gave no `Retry-After`: 1, 2, 4, 8, ... up to 60.
    static func delay(attempt: Int) -> Double {
        let delay = backoff.delay(attempt: attempt + 1).components
        return Double(delay.seconds) + Double(delay.attoseconds) / 1e18
    }
}

extension GraphError {
    /// True when Graph was not reached at all (network, sign-in) or the work was cancelled: further requests now
    /// would fail the same way.
    var isUnreachable: Bool { [.transport, .authentication, .cancelled].contains(code) }
}
