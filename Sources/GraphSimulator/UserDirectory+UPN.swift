extension UserDirectory {
    /// The domain of every simulated user principal name.
    static let upnDomain = "simulated.example"

    /// User `index`'s deterministic UPN: `user00042@simulated.example` (at least five digits).
    static func userPrincipalName(index: Int) -> String {
        let digits = String(index)
        return "user" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits + "@" + upnDomain
    }

    /// The index of the user named by an object id or a UPN (either case), nil if none.
    func index(ofUserOrUPN text: String) -> Int? {
        if let index = index(of: text) { return index }
        let lowered = text.lowercased()
        guard lowered.hasPrefix("user"), lowered.hasSuffix("@" + Self.upnDomain) else { return nil }
        let digits = lowered.dropFirst(4).dropLast(Self.upnDomain.count + 1)
        guard digits.count >= 5, digits.allSatisfy(\.isNumber), let index = Int(digits), index < count,
            Self.userPrincipalName(index: index) == lowered
        else { return nil }
        return index
    }
}
