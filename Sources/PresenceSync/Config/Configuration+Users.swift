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
    ///
    /// A users file of 100,000 ids is common, so it is read as bytes: an id line costs one string (the lower-cased
    /// id the daemon keeps) and nothing else; only other lines take the general path. Reading it through `String`
    /// and Foundation's trimming once made the configuration alone peak at about 75 MB.
    static func parseUserSelection(
        _ root: inout ConfigReader, baseDirectory: String
    ) throws(ConfigError) -> UserSelection {
        var collector = UserListCollector()
        for (index, text) in (try root.stringArray("users") ?? []).enumerated() {
            try collector.add(text: text, origin: .list(index))
        }
        if let file = try root.string("usersFile") {
            let path = resolve(file, against: baseDirectory)
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw ConfigError(key: "usersFile", "cannot read \(path) (\(Self.reason(error)))")
            }
            let added = data.withUnsafeBytes { bytes in
                Result { () throws(ConfigError) in try collector.addLines(of: bytes, file: path) }
            }
            try added.get()
        }
        var selection = collector.selection
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
        guard collector.entries > 0 || !selection.groups.isEmpty else {
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

/// Sorts `users` / `usersFile` entries into object ids and UPNs, rejecting malformed and repeated ones.
private struct UserListCollector {
    var selection = UserSelection()
    /// Entries seen (ids and UPNs, lower-cased), to reject a repeat.
    private var seen = Set<String>()
    private(set) var entries = 0

    /// Where an entry was written, for error messages (computed only when one is needed).
    enum Origin {
        case list(Int)
        case file(String, line: Int)

        var key: String {
            switch self {
            case .list(let index): "users[\(index)]"
            case .file(let path, let line): "usersFile (\(path) line \(line))"
            }
        }
    }

    mutating func add(text: String, origin: Origin) throws(ConfigError) {
        let entry = text.trimmingCharacters(in: .whitespaces)
        if UserIDs.isObjectID(entry) {
            try add(objectID: entry.lowercased(), origin: origin) { entry }
        } else if Configuration.isUserPrincipalName(entry) {
            try remember(entry.lowercased(), origin: origin) { entry }
            selection.userPrincipalNames.append(entry)
        } else {
            throw ConfigError(
                key: origin.key,
                "'\(entry)' is neither a user object id (a GUID) nor a user principal name (name@domain)")
        }
    }

    /// One entry per line; blank lines and lines starting with `#` are skipped; CR LF line ends are accepted.
    mutating func addLines(of bytes: UnsafeRawBufferPointer, file: String) throws(ConfigError) {
        var lineStart = 0
        var number = 0
        while lineStart <= bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            number += 1
            defer { lineStart = lineEnd + 1 }
            var first = lineStart
            var last = lineEnd
            while first < last && Self.isBlank(bytes[first]) { first += 1 }
            while last > first && Self.isBlank(bytes[last - 1]) { last -= 1 }
            if first == last || bytes[first] == UInt8(ascii: "#") { continue }
            let line = UnsafeRawBufferPointer(rebasing: bytes[first..<last])
            if line.count == 36, UserIDs.isObjectID(bytes: line) {
                // The common case: one allocation, the id itself, already lower-cased.
                let id = UserIDs.lowercased(line)
                try add(objectID: id, origin: .file(file, line: number)) { String(decoding: line, as: UTF8.self) }
            } else {
                try add(text: String(decoding: line, as: UTF8.self), origin: .file(file, line: number))
            }
        }
    }

    /// `written`: the entry as the configuration spells it, for the error message.
    private mutating func add(
        objectID: String, origin: Origin, written: () -> String
    ) throws(ConfigError) {
        try remember(objectID, origin: origin, written: written)
        selection.objectIDs.append(objectID)
    }

    private mutating func remember(_ normalized: String, origin: Origin, written: () -> String) throws(ConfigError) {
        entries += 1
        guard seen.insert(normalized).inserted else {
            throw ConfigError(key: origin.key, "user \(written()) is listed twice")
        }
    }

    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }
}
