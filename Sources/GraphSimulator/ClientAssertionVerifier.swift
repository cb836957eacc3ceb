import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// Checks a JWT client assertion (RFC 7523) the way Entra does for an app with certificate credentials.
///
/// In order: the JWT's shape (AADSTS50027), `alg` PS256 or RS256 and a thumbprint header naming a registered
/// certificate (AADSTS700027), the signature with that certificate's key (AADSTS700027), `aud` = this tenant's
/// token endpoint (AADSTS700023), `iss` = `sub` = `client_id` (AADSTS700021), `nbf`/`exp` around now within the
/// skew allowance (AADSTS700024), and a `jti` (AADSTS50027). All are 401 `invalid_client`.
///
/// The codes 700027 (both for an unknown certificate and a bad signature) and 700024 are the ones Entra answers.
/// 700023 (audience) and 700021 (issuer/subject) are recalled from Entra's answers but not confirmed against its
/// current documentation; 50027 ("JWT token is invalid or malformed") is Entra's code for unreadable JWTs, and its
/// use for a missing `jti` is this simulator's choice. Entra also rejects an assertion lifetime over 10 minutes and
/// replayed `jti`s; the simulator does not check either.
struct ClientAssertionVerifier: Sendable {
    /// A registered certificate: its thumbprints (the `x5t` and `x5t#S256` values) and its RSA public key.
    struct Registered: Sendable {
        let sha1: String
        let sha256: String
        let publicKey: _RSA.Signing.PublicKey
    }

    let registered: [Registered]
    let skewSeconds: Int

    /// Parses every certificate in `pemTexts`; a text that is no PEM certificate with an RSA key is an error.
    init(pemTexts: [String], skewSeconds: Int) throws(GraphSimulatorError) {
        var registered: [Registered] = []
        for (index, text) in pemTexts.enumerated() {
            let documents = (try? PEMDocument.parseMultiple(pemString: text)) ?? []
            let certificates = documents.filter { $0.discriminator == "CERTIFICATE" }
            guard !certificates.isEmpty else {
                throw GraphSimulatorError(message: "clientCertificates[\(index)] holds no PEM certificate")
            }
            for document in certificates {
                guard let certificate = try? Certificate(derEncoded: document.derBytes),
                    let key = _RSA.Signing.PublicKey(certificate.publicKey)
                else {
                    throw GraphSimulatorError(
                        message: "clientCertificates[\(index)] is not an X.509 certificate with an RSA key")
                }
                registered.append(
                    Registered(
                        sha1: Self.base64URL(Insecure.SHA1.hash(data: document.derBytes)),
                        sha256: Self.base64URL(SHA256.hash(data: document.derBytes)), publicKey: key))
            }
        }
        self.registered = registered
        self.skewSeconds = skewSeconds
    }

    /// Returns the accepted assertion's algorithm, or throws the Entra error to answer.
    func verify(
        _ assertion: String, clientID: String, tenant: String, authority: String, now: Date = Date()
    ) throws(EntraError) -> String {
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Self.decode(parts[0]), let claimsData = Self.decode(parts[1]),
            let signature = Self.decode(parts[2]),
            let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any],
            let claims = (try? JSONSerialization.jsonObject(with: claimsData)) as? [String: Any]
        else {
            throw Self.malformed("The client assertion is not a JWS in compact serialization.")
        }
        let algorithm = header["alg"] as? String ?? ""
        let padding: _RSA.Signing.Padding
        switch algorithm {
        case "PS256": padding = .PSS
        case "RS256": padding = .insecurePKCS1v1_5
        default: throw Self.malformed("The client assertion's algorithm '\(algorithm)' is not supported.")
        }
        let sha256 = header["x5t#S256"] as? String
        let sha1 = header["x5t"] as? String
        guard
            let certificate = registered.first(where: { certificate in
                sha256.map { $0 == certificate.sha256 } ?? sha1.map { $0 == certificate.sha1 } ?? false
            })
        else {
            throw EntraError(
                status: .unauthorized, error: "invalid_client", number: 700027,
                description: "The certificate with identifier used to sign the client assertion is not registered on "
                    + "application. [Reason - The key was not found., Thumbprint of key used by client: "
                    + "'\(sha256 ?? sha1 ?? "none")', Please visit the Azure Portal, Graph Explorer or directly use "
                    + "MS Graph to see configured keys for app Id '\(clientID)'.]")
        }
        let signingInput = Data(assertion.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard
            certificate.publicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: signingInput),
                padding: padding)
        else {
            throw EntraError(
                status: .unauthorized, error: "invalid_client", number: 700027,
                description: "Client assertion contains an invalid signature. [Reason - The provided signature value "
                    + "did not match the expected signature value.]")
        }
        let audience = claims["aud"] as? String ?? ""
        let accepted = ["\(authority)/\(tenant)/oauth2/v2.0/token", "\(authority)/\(tenant)/oauth2/token"]
        guard accepted.contains(where: { $0.lowercased() == audience.lowercased() }) else {
            throw EntraError(
                status: .unauthorized, error: "invalid_client", number: 700023,
                description: "Client assertion audience claim does not match Realm issuer. Audience '\(audience)', "
                    + "expected '\(accepted[0])'.")
        }
        let issuer = claims["iss"] as? String ?? ""
        let subject = claims["sub"] as? String ?? ""
        guard issuer.lowercased() == clientID.lowercased(), subject.lowercased() == clientID.lowercased() else {
            throw EntraError(
                status: .unauthorized, error: "invalid_client", number: 700021,
                description: "Client assertion application identifier doesn't match 'client_id' parameter.")
        }
        guard let notBefore = Self.seconds(claims["nbf"]), let expiry = Self.seconds(claims["exp"]) else {
            throw Self.malformed("The client assertion needs numeric 'nbf' and 'exp' claims.")
        }
        let current = now.timeIntervalSince1970
        let skew = Double(skewSeconds)
        guard notBefore <= current + skew, current - skew < expiry else {
            throw EntraError(
                status: .unauthorized, error: "invalid_client", number: 700024,
                description: "Client assertion is not within its valid time range. Current time: "
                    + "\(JSONText.entraTimestamp(now)), assertion valid from "
                    + "\(JSONText.entraTimestamp(Date(timeIntervalSince1970: notBefore))), expiry time of assertion "
                    + "\(JSONText.entraTimestamp(Date(timeIntervalSince1970: expiry))).")
        }
        guard let jti = claims["jti"] as? String, !jti.isEmpty else {
            throw Self.malformed("The client assertion has no 'jti' claim.")
        }
        return algorithm
    }

    private static func malformed(_ detail: String) -> EntraError {
        EntraError(
            status: .unauthorized, error: "invalid_client", number: 50027,
            description: "JWT token is invalid or malformed. \(detail)")
    }

    private static func seconds(_ value: Any?) -> Double? {
        switch value {
        case let number as Int: Double(number)
        case let number as Double: number
        case let number as NSNumber: number.doubleValue
        default: nil
        }
    }

    /// Base64url without padding, as in JOSE.
    static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    private static func decode(_ part: Substring) -> Data? {
        var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !text.contains("=") else { return nil }
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text)
    }
}
