/// A user found through a group, with the UPN Graph gave for it.
public struct DirectoryUser: Sendable, Hashable {
    /// The object id, lower-case.
    public var id: String
    /// The user principal name, when known.
    public var userPrincipalName: String?

    public init(id: String, userPrincipalName: String? = nil) {
        self.id = id
        self.userPrincipalName = userPrincipalName
    }
}
