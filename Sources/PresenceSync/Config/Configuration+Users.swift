import Foundation

/// The users a configuration names, sorted by how they are turned into object ids.
struct UserSelection: Sendable, Equatable {
    /// Object ids listed directly: tracked without asking Graph.
    var objectIDs: [String] = []
    /// User principal names, resolved through `$batch`.
    var userPrincipalNames: [String] = []
    /// Group object ids, expanded to their transitive user members.
    var groups: [String] = []
}

extension Configuration {
    /// `users` and `usersFile` (object ids or UPNs, merged) and `groups` (group object ids).
    ///
    /// An entry that is a GUID is an object id; one of the form `name@domain` is a UPN. Duplicates (ids compared
    /// lower-cased, UPNs case-insensitively, as Entra does) are errors naming the second occurrence. At least one
    /// user or group is required.
    static func parseUserSelection(
        _ root: inout ConfigReader, baseDirectory: String
    ) throws(ConfigError) -> UserSelection {
        var entries: [(text: String, key: String)] = []
        for (index, text) in (try root.stringArray("users") ?? []).enumerated() {
            entries.append((text.trimmingCharacters(in: .whitespaces), "users[\(index)]"))
        }
        if let file = try root.string("usersFile") {
            let path = resolve(file, against: baseDirectory)
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ConfigError(key: "usersFile", "cannot read \(path) (\(Self.reason(error)))")
            }
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                entries.append((trimmed, "usersFile (\(path) line \(number + 1))"))
            }
        }
        var selection = UserSelection()
        var seen = Set<String>()
        for entry in entries {
            let normalized: String
            if UserIDs.isObjectID(entry.text) {
                normalized = entry.text.lowercased()
                selection.objectIDs.append(normalized)
            } else if Self.isUserPrincipalName(entry.text) {
                normalized = entry.text.lowercased()
                selection.userPrincipalNames.append(entry.text)
            } else {
                throw ConfigError(
                    key: entry.key,
                    "'\(entry.text)' is neither a user object id (a GUID) nor a user principal name (name@domain)")
            }
            guard seen.insert(normalized).inserted else {
                throw ConfigError(key: entry.key, "user \(entry.text) is listed twice")
            }
        }
        var groupsSeen = Set<String>()
        for (index, text) in (try root.stringArray("groups") ?? []).enumerated() {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard UserIDs.isObjectID(trimmed) else {
                throw ConfigError(key: "groups[\(index)]", "'\(trimmed)' is not a group object id (a GUID)")
            }
            guard groupsSeen.insert(trimmed.lowercased()).inserted else {
                throw ConfigError(key: "groups[\(index)]", "group \(trimmed) is listed twice")
            }
            selection.groups.append(trimmed.lowercased())
        }
        guard !entries.isEmpty || !selection.groups.isEmpty else {
            throw ConfigError(
                key: "users",
                "no users to follow: list object ids or user principal names in 'users' or 'usersFile', "
                    + "or group ids in 'groups'")
        }
        return selection
    }

    /// `name@domain` with no spaces and nothing before or after; Entra checks the rest.
    static func isUserPrincipalName(_ text: String) -> Bool {
        guard let at = text.lastIndex(of: "@"), at != text.startIndex, text.index(after: at) != text.endIndex else {
            return false
        }
        return !text.contains(where: { $0.isWhitespace || $0.isNewline }) && text.utf8.count <= 1024
    }

    /// `userResolution.intervalSeconds` (default 3600) and `userResolution.retrySeconds` (default 60).
    static func parseUserResolution(_ root: inout ConfigReader) throws(ConfigError) -> UserResolutionSettings {
        var settings = UserResolutionSettings()
        guard var reader = try root.object("userResolution") else { return settings }
        settings.intervalSeconds =
            try reader.number("intervalSeconds", in: 0.1...604_800) ?? settings.intervalSeconds
        settings.retrySeconds = try reader.number("retrySeconds", in: 0.1...86_400) ?? settings.retrySeconds
        try reader.finish()
        settings.retrySeconds = min(settings.retrySeconds, settings.intervalSeconds)
        return settings
    }
}
