import Crypto
import Foundation
import _CryptoExtras

/// The signed JWT an application presents instead of a client secret (`client_assertion`, RFC 7523), in the shape
/// Entra documents for certificate credentials.
///
/// Header: `alg` (PS256 or RS256), `typ` JWT, and the certificate thumbprint (`x5t#S256` for PS256, `x5t` for
/// RS256). Claims: `aud` the tenant's token endpoint, `iss` = `sub` = the client id, `jti` a fresh GUID, `nbf` =
/// `iat` = now, `exp` = now + `lifetime` (Entra accepts at most 10 minutes). The assertion is a credential: it is
/// never logged.
enum ClientAssertion {
    /// The `client_assertion_type` of a JWT client assertion.
    static let jwtBearerType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    /// How long an assertion is valid; it is used once, right after it is made.
    static let lifetime: TimeInterval = 5 * 60

    private struct Header: Encodable {
        var alg: String
        var typ = "JWT"
        var x5t: String?
        var x5tS256: String?

        enum CodingKeys: String, CodingKey {
            case alg, typ, x5t
            case x5tS256 = "x5t#S256"
        }
    }

    private struct Claims: Encodable {
        var aud: String
        var iss: String
        var sub: String
        var jti: String
        var nbf: Int64
        var iat: Int64
        var exp: Int64
    }

    /// Makes and signs an assertion for `clientID` addressed to the token endpoint `audience`.
    static func make(
        certificate: ClientCertificate, algorithm: ClientAssertionAlgorithm, audience: String, clientID: String,
        now: Date = Date(), jti: String = UUID().uuidString.lowercased()
    ) throws(AuthenticationError) -> String {
        var header = Header(alg: algorithm.rawValue)
        switch algorithm {
        case .ps256: header.x5tS256 = ClientCertificate.base64URL(certificate.sha256Thumbprint)
        case .rs256: header.x5t = ClientCertificate.base64URL(certificate.sha1Thumbprint)
        }
        let issued = Int64(now.timeIntervalSince1970)
        let claims = Claims(
            aud: audience, iss: clientID, sub: clientID, jti: jti, nbf: issued, iat: issued,
            exp: issued + Int64(lifetime))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let signingInput: String
        do {
            signingInput =
                ClientCertificate.base64URL(try encoder.encode(header)) + "."
                + ClientCertificate.base64URL(try encoder.encode(claims))
        } catch {
            throw AuthenticationError(detail: "cannot encode the client assertion: \(error)")
        }
        let padding: _RSA.Signing.Padding
        switch algorithm {
        case .ps256: padding = .PSS
        case .rs256: padding = .insecurePKCS1v1_5
        }
        do {
            let signature = try certificate.privateKey.signature(
                for: SHA256.hash(data: Data(signingInput.utf8)), padding: padding)
            return signingInput + "." + ClientCertificate.base64URL(signature.rawRepresentation)
        } catch {
            throw AuthenticationError(detail: "cannot sign the client assertion with the private key (\(error))")
        }
    }
}
