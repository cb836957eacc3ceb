import Foundation

/// A secret could not be read; the message names the source, never the value.
public struct SecretError: Error, CustomStringConvertible, Sendable {
    public var source: SecretSource
    public var problem: String
    public var description: String { "cannot read the secret from \(source): \(problem)" }
}

extension SecretSource {
    /// Reads the secret now, trimming one trailing newline (files written by `echo` end in one).
    ///
    /// Read at sign-in time rather than at start, so a rotated secret file is picked up without a restart.
    public func read(environment: [String: String] = ProcessInfo.processInfo.environment) throws(SecretError) -> String
    {
        let raw: String
        switch self {
        case .file(let path):
            raw = try Self.readFile(path, source: self)
        case .environment(let name):
            guard let value = environment[name] else { throw SecretError(source: self, problem: "it is not set") }
            raw = value
        case .systemdCredential(let name):
            guard let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else {
                throw SecretError(
                    source: self,
                    problem: "$CREDENTIALS_DIRECTORY is not set (add LoadCredential=\(name):... to the unit)")
            }
            raw = try Self.readFile("\(directory)/\(name)", source: self)
        }
        var secret = raw
        if secret.hasSuffix("\r\n") { secret.removeLast(2) } else if secret.hasSuffix("\n") { secret.removeLast() }
        guard !secret.isEmpty else { throw SecretError(source: self, problem: "it is empty") }
        return secret
    }

    private static func readFile(_ path: String, source: SecretSource) throws(SecretError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw SecretError(source: source, problem: exists ? "\(path) is not readable" : "\(path) does not exist")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SecretError(source: source, problem: "\(path) is not UTF-8 text")
        }
        return text
    }

    /// A warning when a secret file can be read by everyone (mode o+r), nil otherwise.
    public func permissionWarning(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard case .file(let path) = self,
            let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let mode = attributes[.posixPermissions] as? Int, mode & 0o004 != 0
        else { return nil }
        return "secret file \(path) is readable by every user (mode \(String(mode, radix: 8))); chmod 600 it"
    }
}
