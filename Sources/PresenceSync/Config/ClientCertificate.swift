import Crypto
import Foundation
import X509
import _CryptoExtras

/// A loaded, checked certificate credential: the certificate as registered on the app, its thumbprints, and the
/// private key that signs client assertions.
///
/// Its description names the certificate (subject, SHA-1 thumbprint, expiry), never the key.
public struct ClientCertificate: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let privateKey: _RSA.Signing.PrivateKey
    /// The certificate, as parsed from its PEM.
    public let certificate: Certificate
    /// SHA-1 of the certificate's DER bytes: what Entra shows as the thumbprint, and the `x5t` header.
    public let sha1Thumbprint: [UInt8]
    /// SHA-256 of the certificate's DER bytes: the `x5t#S256` header.
    public let sha256Thumbprint: [UInt8]

    /// Pairs a key with the certificate whose DER bytes are `certificateDER`; the caller has checked that they
    /// belong together.
    init(privateKey: _RSA.Signing.PrivateKey, certificate: Certificate, certificateDER: [UInt8]) {
        self.privateKey = privateKey
        self.certificate = certificate
        self.sha1Thumbprint = Array(Insecure.SHA1.hash(data: certificateDER))
        self.sha256Thumbprint = Array(SHA256.hash(data: certificateDER))
    }

    /// When the certificate stops being valid.
    public var notValidAfter: Date { certificate.notValidAfter }

    /// The SHA-1 thumbprint as the Entra portal shows it (upper-case hex).
    public var thumbprintHex: String {
        sha1Thumbprint.map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }

    public var description: String {
        "certificate \(certificate.subject) (thumbprint \(thumbprintHex), valid until "
            + "\(certificate.notValidAfter.formatted(.iso8601)))"
    }

    public var debugDescription: String { description }

    /// Base64url (RFC 4648 section 5) without padding, as JOSE uses it.
    static func base64URL(_ bytes: some DataProtocol) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return String(
            text.map { character -> Character in
                switch character {
                case "+": "-"
                case "/": "_"
                default: character
                }
            })
    }
}
