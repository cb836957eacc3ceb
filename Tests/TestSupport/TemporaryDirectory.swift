import Foundation

/// A fresh directory under the system temp folder, removed when the value is released.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "presence-sync-test") {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/\(label)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Writes `text` to a file inside the directory and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String, mode: Int = 0o600) -> String {
        let target = file(name)
        _ = FileManager.default.createFile(
            atPath: target, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
        return target
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
