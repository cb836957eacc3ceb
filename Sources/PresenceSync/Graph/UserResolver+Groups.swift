import Foundation

extension UserResolver {
    /// Pages followed at most for one group: 100,000 pages of 100 is ten million members.
    static let maxGroupPages = 100_000

    /// The group's transitive user members (nested groups flattened by Graph), each once, in Graph's order.
    ///
    /// `GET /groups/{id}/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName&$count=true` with
    /// `ConsistencyLevel: eventual` (permission GroupMember.Read.All), following `@odata.nextLink` to the end and
    /// sending the same headers on every page. A throttled or failing page (429, 503, 504) is retried after
    /// `Retry-After` or a backoff; any other failure, and a page still failing after the retries, throws
    /// (a missing group is a 404 `.status`). Links outside the configured Graph host are refused.
    public func transitiveUserMembers(ofGroup groupID: String) async throws(GraphError) -> [DirectoryUser] {
        var next: String? = session.url(Self.membersPath(ofGroup: groupID))
        var members: [DirectoryUser] = []
        var seen = Set<String>()
        var pages = 0
        while let url = next {
            pages += 1
            guard pages <= Self.maxGroupPages else {
                throw GraphError.malformedAnswer(
                    reason: "group \(groupID) has more than \(Self.maxGroupPages) pages of members", requestID: nil)
            }
            let answer = try await page(url)
            let page: MembersPage
            do {
                page = try JSONDecoder().decode(MembersPage.self, from: Data(answer.body.readableBytesView))
            } catch {
                throw GraphError.malformedAnswer(
                    reason: "group \(groupID): the member page is not a member list", requestID: answer.requestID)
            }
            for member in page.value {
                guard UserIDs.isObjectID(member.id) else { continue }
                let id = member.id.lowercased()
                if seen.insert(id).inserted {
                    members.append(DirectoryUser(id: id, userPrincipalName: member.userPrincipalName))
                }
            }
            next = page.nextLink
        }
        return members
    }

    /// The first page's path.
    static func membersPath(ofGroup groupID: String) -> String {
        "/groups/\(encode(groupID))/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName&$count=true"
    }

    /// One page, retried while Graph answers with a transient failure.
    private func page(_ url: String) async throws(GraphError) -> HTTPAnswer {
        var attempt = 0
        while true {
            let failure: GraphError
            do throws(GraphError) {
                let answer = try await session.send(.GET, url: url, headers: [("ConsistencyLevel", "eventual")])
                if answer.status == 200 { return answer }
                failure = GraphError.fromAnswer(answer)
            } catch {
                failure = error
            }
            attempt += 1
            guard ResolutionBackoff.retries(failure), attempt < ResolutionBackoff.maxAttempts else { throw failure }
            let wait = min(
                failure.retryAfterSeconds ?? ResolutionBackoff.delay(attempt: attempt - 1), ResolutionBackoff.maxDelay)
            do {
                try await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
            } catch {
                throw GraphError.cancelled
            }
        }
    }

    private struct MembersPage: Decodable {
        struct Member: Decodable {
            var id: String
            var userPrincipalName: String?
        }

        var value: [Member]
        var nextLink: String?

        enum CodingKeys: String, CodingKey {
            case value
            case nextLink = "@odata.nextLink"
        }
    }
}
