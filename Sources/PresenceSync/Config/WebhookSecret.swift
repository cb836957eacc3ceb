import Foundation

/// A Standard Webhooks signing secret (`whsec_` + base64 key bytes), read from its source.
///
/// Its `description` never shows the key: errors and logs name only where it came from.
public struct WebhookSecret: Sendable, CustomStringConvertible {
    /// The decoded key bytes the HMAC uses (kept as bytes: `SymmetricKey` is not `Sendable` on every platform).
    let key: [UInt8]
    /// Where the secret was read from (what errors and logs may name).
    public let source: SecretSource

    /// Reads and checks a secret: `whsec_` then standard base64 of 24 to 64 bytes.
    public init(reading source: SecretSource, environment: [String: String]) throws(SecretError) {
        let text = try source.read(environment: environment)
        try self.init(text: text, source: source)
    }

    /// Checks a secret given as text (tests, the benchmark).
    public init(text: String, source: SecretSource) throws(SecretError) {
        guard text.hasPrefix("whsec_") else {
            throw SecretError(source: source, problem: "a webhook secret must start with 'whsec_' (Standard Webhooks)")
        }
        guard let bytes = Data(base64Encoded: String(text.dropFirst(6))) else {
            throw SecretError(source: source, problem: "the part after 'whsec_' is not valid base64")
        }
        guard (24...64).contains(bytes.count) else {
            throw SecretError(source: source, problem: "the key must be 24 to 64 bytes, found \(bytes.count)")
        }
        self.key = Array(bytes)
        self.source = source
    }

    public var description: String { "webhook secret from \(source)" }
}
