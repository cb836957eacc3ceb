import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// A self-signed RSA certificate and its private key as PEM text, made in the test run (nothing is checked in).
///
/// RSA key generation is slow in a debug build, so two keys are made once per process (`shared`, `other`) and
/// certificates with other validity periods reuse them.
public struct TestCertificate: Sendable {
    /// The certificate (`-----BEGIN CERTIFICATE-----`).
    public let certificatePEM: String
    /// The private key in PKCS#8 (`-----BEGIN PRIVATE KEY-----`).
    public let privateKeyPEM: String
    /// The same key in PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`), as older tools write it.
    public let rsaPrivateKeyPEM: String
    /// A line of the key's base64 body, for asserting that it never shows up in logs.
    public let privateKeyMarker: String

    private static let keys: [_RSA.Signing.PrivateKey] = [
        try! _RSA.Signing.PrivateKey(keySize: .bits2048), try! _RSA.Signing.PrivateKey(keySize: .bits2048),
    ]

    /// Valid from an hour ago for a year.
    public static let shared = try! TestCertificate(keyIndex: 0)
    /// Another key and certificate: pairing its key with `shared`'s certificate is a mismatch.
    public static let other = try! TestCertificate(keyIndex: 1, commonName: "presence-sync other test app")

    /// `shared`'s key in a certificate that expired yesterday.
    public static func expired() throws -> TestCertificate {
        try TestCertificate(
            keyIndex: 0, notValidBefore: Date().addingTimeInterval(-30 * 86_400),
            notValidAfter: Date().addingTimeInterval(-86_400))
    }

    init(
        keyIndex: Int, commonName: String = "presence-sync test app",
        notValidBefore: Date = Date().addingTimeInterval(-3600),
        notValidAfter: Date = Date().addingTimeInterval(365 * 86_400)
    ) throws {
        let key = Self.keys[keyIndex]
        let name = try DistinguishedName {
            CommonName(commonName)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: notValidBefore, notValidAfter: notValidAfter, issuer: name, subject: name,
            signatureAlgorithm: .sha256WithRSAEncryption, extensions: Certificate.Extensions(),
            issuerPrivateKey: .init(key))
        certificatePEM = try certificate.serializeAsPEM().pemString + "\n"
        privateKeyPEM = key.pkcs8PEMRepresentation
        rsaPrivateKeyPEM = key.pemRepresentation
        let lines = privateKeyPEM.split(separator: "\n")
        privateKeyMarker = lines.count > 3 ? String(lines[2]) : privateKeyPEM
    }

    /// Certificate and key in one PEM text (certificate first, as `cat cert.pem key.pem` makes it).
    public var combinedPEM: String { certificatePEM + privateKeyPEM }
}
