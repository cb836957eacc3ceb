import Foundation
import Hummingbird

/// Endpoints under `/_simulator/` for users outside the process (benchmark, demo, ad-hoc tools). No token needed.
///
/// - `GET /_simulator/users`: JSON array of every user object id, in index order.
/// - `GET /_simulator/statistics`: ``SimulatorStatistics`` as JSON.
/// - `POST /_simulator/faults`: body is a JSON array of faults (see ``SimulatedFault``'s JSON form); they are
///   queued after any already queued. Answers 204; 400 with `{"error": "..."}` if the body does not decode.
/// - `GET /_simulator/served/{userID}`: JSON array of ``SimulatedPresence``, the distinct consecutive states served
///   (empty unless `recordServedStates`); 404 for an unknown user.
/// - `GET /_simulator/presence/{userID}`: the user's current ``SimulatedPresence``; 404 for an unknown user.
/// - `POST /_simulator/revoke-tokens`: every token issued so far is refused from now on. Answers 204.
/// - `PUT /_simulator/groups/{groupID}`: body `{"members": [user ids], "groups": [nested group ids]}` defines or
///   redefines the group (204; 400 if the body does not decode). `DELETE` removes it (204).
/// - `/_simulator/shortening` and `/_simulator/served-answers/{userID}`: see `ControlEndpoints+Shortening.swift`.
struct ControlEndpoints: Sendable {
    let tenant: SimulatedTenant

    /// Registers the endpoints on `router`.
    func register(on router: Router<BasicRequestContext>) {
        let group = router.group("_simulator")
        group.get("users") { _, _ in usersResponse() }
        group.get("statistics") { _, _ in try jsonResponse(tenant.statistics) }
        group.post("faults") { request, _ in try await queueFaults(request) }
        group.get("served/:userID") { _, context in
            try userResponse(context) { tenant.servedStates(index: $0).map(\.simulatedPresence) }
        }
        group.get("presence/:userID") { _, context in
            try userResponse(context) { tenant.currentState(index: $0).simulatedPresence }
        }
        group.post("revoke-tokens") { _, _ in
            tenant.revokeTokens()
            return Response(status: .noContent)
        }
        group.put("groups/:groupID") { request, context in
            try await defineGroup(request, id: context.parameters.get("groupID") ?? "")
        }
        group.delete("groups/:groupID") { _, context in
            tenant.groups.remove(context.parameters.get("groupID") ?? "")
            return Response(status: .noContent)
        }
        registerShortening(on: group)
    }

    private func usersResponse() -> Response {
        let ids = tenant.directory.ids
        var buffer = ByteBuffer()
        buffer.reserveCapacity(ids.count * (UserDirectory.guidLength + 3) + 2)
        buffer.writeStaticString("[")
        for (position, id) in ids.enumerated() {
            buffer.writeStaticString(position == 0 ? "\"" : ",\"")
            buffer.writeString(id)
            buffer.writeStaticString("\"")
        }
        buffer.writeStaticString("]")
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }

    private struct GroupDefinition: Decodable {
        var members: [String]?
        var groups: [String]?
    }

    private func defineGroup(_ request: Request, id: String) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 * 1024 * 1024)
        guard
            let definition = try? JSONDecoder().decode(
                GroupDefinition.self, from: body.withUnsafeReadableBytes { Data($0) })
        else {
            let message = "{\"error\":\"expected an object with members and groups arrays\"}"
            return Response(
                status: .badRequest, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: message)))
        }
        tenant.groups.set(id, members: definition.members ?? [], groups: definition.groups ?? [])
        return Response(status: .noContent)
    }

    private func queueFaults(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 1024 * 1024)
        do {
            let faults = try JSONDecoder().decode(
                [SimulatedFault].self, from: body.withUnsafeReadableBytes { Data($0) })
            tenant.enqueue(faults)
            return Response(status: .noContent)
        } catch {
            let message = "{\"error\":\(JSONText.quoted("Cannot decode the fault list: \(error)"))}"
            return Response(
                status: .badRequest, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: message)))
        }
    }

    func userResponse(
        _ context: BasicRequestContext, _ answer: (Int) -> some Encodable
    ) throws -> Response {
        let userID = context.parameters.get("userID") ?? ""
        guard let index = tenant.directory.index(of: userID) else {
            let message = "{\"error\":\(JSONText.quoted("No user with id '\(userID)'."))}"
            return Response(
                status: .notFound, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: message)))
        }
        return try jsonResponse(answer(index))
    }

    func jsonResponse(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
