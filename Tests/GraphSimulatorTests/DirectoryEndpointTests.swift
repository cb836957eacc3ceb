import Foundation
import GraphSimulator
import Testing

/// The simulator's directory endpoints: `$batch` user lookups and paged transitive group members.
@Suite("Simulator directory endpoints")
struct DirectoryEndpointTests {
    static func batch(_ client: SimulatorClient, _ urls: [String], token: String) async throws -> HTTPAnswer {
        let requests = urls.enumerated().map { ["id": "\($0.offset + 1)", "method": "GET", "url": $0.element] }
        return try await client.send(
            "POST", "/v1.0/$batch", headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"],
            body: JSONSerialization.data(withJSONObject: ["requests": requests]))
    }

    @Test("$batch answers each request by id, out of order, with its own status; more than 20 is a 400")
    func batch() async throws {
        try await withSimulator(.testing(userCount: 30)) { simulator, client in
            let token = try await client.accessToken()
            let urls = [
                "/users/user00003@simulated.example?$select=id", "/users/nobody@simulated.example?$select=id",
                "/users('USER00004@simulated.example')?$select=id", "/users/\(simulator.userIDs[5])?$select=id",
            ]
            let answer = try await Self.batch(client, urls, token: token)
            #expect(answer.status == 200)
            let responses = try #require(answer.object["responses"] as? [[String: Any]])
            #expect(responses.map { $0["id"] as? String } == ["4", "3", "2", "1"])
            var byID: [String: [String: Any]] = [:]
            for response in responses { byID[response["id"] as? String ?? ""] = response }
            #expect(byID["1"]?["status"] as? Int == 200)
            #expect((byID["1"]?["body"] as? [String: Any])?["id"] as? String == simulator.userIDs[3])
            #expect(byID["2"]?["status"] as? Int == 404)
            let error = (byID["2"]?["body"] as? [String: Any])?["error"] as? [String: Any]
            #expect(error?["code"] as? String == "Request_ResourceNotFound")
            #expect((byID["3"]?["body"] as? [String: Any])?["id"] as? String == simulator.userIDs[4])
            #expect((byID["4"]?["body"] as? [String: Any])?["id"] as? String == simulator.userIDs[5])

            simulator.throttleBatchItems(1, retryAfterSeconds: 7)
            let throttled = try await Self.batch(client, Array(urls.prefix(2)), token: token)
            let items = try #require(throttled.object["responses"] as? [[String: Any]])
            let first = try #require(items.first { $0["id"] as? String == "1" })
            #expect(first["status"] as? Int == 429)
            #expect((first["headers"] as? [String: String])?["Retry-After"] == "7")

            let tooMany = try await Self.batch(client, Array(repeating: urls[0], count: 21), token: token)
            #expect(tooMany.status == 400)
            let unauthorized = try await Self.batch(client, urls, token: "nope")
            #expect(unauthorized.status == 401)
            #expect(simulator.directoryStatistics.batchRequests == 4)
        }
    }

    @Test("group members come in pages with an absolute nextLink; $count needs ConsistencyLevel on every page")
    func groupPages() async throws {
        var configuration = SimulatorConfiguration.testing(userCount: 300)
        configuration.groupPageSize = 100
        try await withSimulator(configuration) { simulator, client in
            let token = try await client.accessToken()
            let group = "6a0e0000-0000-4000-8000-000000000001"
            let nested = "6a0e0000-0000-4000-8000-000000000002"
            simulator.setGroup(nested, members: Array(simulator.userIDs[200..<260]))
            simulator.setGroup(group, members: Array(simulator.userIDs[0..<210]), groups: [nested])
            let headers = ["Authorization": "Bearer \(token)", "ConsistencyLevel": "eventual"]
            var next: String? =
                client.baseURL + "/v1.0/groups/\(group)/transitiveMembers/microsoft.graph.user?$select=id&$count=true"
            var ids: [String] = []
            var pages = 0
            while let url = next {
                #expect(url.hasPrefix(client.baseURL))
                let page = try await client.send("GET", String(url.dropFirst(client.baseURL.count)), headers: headers)
                #expect(page.status == 200)
                #expect(page.object["@odata.count"] as? Int == 260)
                ids += (page.object["value"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                next = page.object["@odata.nextLink"] as? String
                pages += 1
            }
            #expect(pages == 3)
            #expect(ids == Array(simulator.userIDs[0..<260]))

            let withoutHeader = try await client.send(
                "GET", "/v1.0/groups/\(group)/transitiveMembers/microsoft.graph.user?$count=true",
                headers: ["Authorization": "Bearer \(token)"])
            #expect(withoutHeader.status == 400)
            #expect(withoutHeader.graphError["code"] as? String == "Request_UnsupportedQuery")
            simulator.removeGroup(group)
            let gone = try await client.send(
                "GET", "/v1.0/groups/\(group)/transitiveMembers/microsoft.graph.user", headers: headers)
            #expect(gone.status == 404)
        }
    }

    @Test("groups can be defined over the control endpoint")
    func controlEndpoint() async throws {
        try await withSimulator(.testing(userCount: 10)) { simulator, client in
            let group = "6a0e0000-0000-4000-8000-000000000003"
            let defined = try await client.send(
                "PUT", "/_simulator/groups/\(group)",
                body: JSONSerialization.data(withJSONObject: ["members": Array(simulator.userIDs[0..<3])]))
            #expect(defined.status == 204)
            let token = try await client.accessToken()
            let page = try await client.send(
                "GET", "/v1.0/groups/\(group)/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName",
                headers: ["Authorization": "Bearer \(token)"])
            let members = page.object["value"] as? [[String: Any]] ?? []
            #expect(members.compactMap { $0["id"] as? String } == Array(simulator.userIDs[0..<3]))
            #expect(members.first?["userPrincipalName"] as? String == "user00000@simulated.example")
        }
    }
}
