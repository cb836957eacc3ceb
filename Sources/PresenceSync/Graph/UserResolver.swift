import Foundation

/// A user named on the command line: an Entra object id (a GUID) or a user principal name.
public enum UserReference: Sendable, Equatable, CustomStringConvertible {
    case objectID(String)
    case userPrincipalName(String)

    /// A GUID is an object id (lower-cased, as the store keeps them); anything else is taken for a UPN.
    public init(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        self = UserIDs.isObjectID(trimmed) ? .objectID(trimmed.lowercased()) : .userPrincipalName(trimmed)
    }

    public var description: String {
        switch self {
        case .objectID(let id): id
        case .userPrincipalName(let upn): upn
        }
    }
}

/// A user could not be turned into an object id; names the user and, for Graph failures, the request-id.
public struct UserResolutionError: Error, CustomStringConvertible, Sendable {
    /// The user as given.
    public var user: String
    /// Graph's failure.
    public var graphError: GraphError

    /// True when the directory has no such user (HTTP 404).
    public var isNotFound: Bool { graphError.httpStatus == 404 }

    public var description: String {
        if isNotFound {
            return "no user '\(user)' in the directory" + (graphError.requestID.map { " [request-id \($0)]" } ?? "")
        }
        return "cannot resolve user '\(user)': \(graphError)"
    }
}

/// Turns user principal names into object ids with `GET /users/{upn}?$select=id` (permission User.Read.All).
///
/// Object ids pass through without a request. One user at a time here (operator commands); many UPNs at once
/// through `$batch` in `UserResolver+Batch.swift`, and group members in `UserResolver+Groups.swift` (the daemon's
/// `UserTracker`). Nothing is cached.
public struct UserResolver: Sendable {
    let session: GraphSession

    private struct Reply: Decodable {
        var id: String
    }

    public init(session: GraphSession) {
        self.session = session
    }

    /// The object id of `user`, asking Graph only for a UPN.
    public func objectID(for user: UserReference) async throws(UserResolutionError) -> String {
        switch user {
        case .objectID(let id):
            return id
        case .userPrincipalName(let upn):
            do throws(GraphError) {
                let answer = try await session.send(.GET, Self.path(forUPN: upn), expecting: [200])
                guard let reply = try? JSONDecoder().decode(Reply.self, from: Data(answer.body.readableBytesView)),
                    UserIDs.isObjectID(reply.id)
                else {
                    throw GraphError.malformedAnswer(
                        reason: "no object id in the user answer", requestID: answer.requestID)
                }
                return reply.id.lowercased()
            } catch {
                throw UserResolutionError(user: upn, graphError: error)
            }
        }
    }

    /// `/users/{upn}?$select=id`, percent-encoded. A UPN starting with `$` must be addressed as `users('$…')`
    /// (with `'` doubled, OData's quoting), or Graph reads it as a system query; `#`, `%`, `/` and `?` are encoded.
    public static func path(forUPN upn: String) -> String {
        let segment =
            upn.hasPrefix("$")
            ? "('" + encode(upn.replacingOccurrences(of: "'", with: "''")) + "')"
            : "/" + encode(upn)
        return "/users" + segment + "?$select=id"
    }

    /// Percent-encodes everything but unreserved characters and the few a UPN needs literally (`@`, `$`, `'`).
    static func encode(_ text: String) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        allowed.insert(charactersIn: "-._~@$'!*+,;=")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
