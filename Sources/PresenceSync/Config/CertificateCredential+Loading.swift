import Foundation
import SwiftASN1
import X509
import _CryptoExtras

extension CertificateCredential {
    /// Reads the private key and the certificate and checks that they can sign in: both are PEM, the key is an RSA
    /// key of at least 2048 bits, it belongs to the certificate, and the certificate has not expired.
    ///
    /// Errors name the configuration key and the file; they never quote the key file's content.
    public func load(
        environment: [String: String] = ProcessInfo.processInfo.environment, now: Date = Date()
    ) throws(CertificateCredentialError) -> ClientCertificate {
        let keyKey = privateKey.configurationKey
        let keyText: String
        do {
            keyText = try privateKey.read(environment: environment)
        } catch {
            throw CertificateCredentialError(
                key: keyKey, "cannot read the private key from \(error.source): \(error.problem)")
        }
        let keyDocuments = try Self.pemDocuments(keyText, key: keyKey, source: "\(privateKey)")
        let key = try Self.privateKey(in: keyDocuments, key: keyKey, source: "\(privateKey)")

        let certificateDocuments: [PEMDocument]
        let certificateKey: String
        let certificateSource: String
        if let certificateFile {
            certificateKey = "certificateFile"
            certificateSource = "file \(certificateFile)"
            guard let data = FileManager.default.contents(atPath: certificateFile) else {
                let exists = FileManager.default.fileExists(atPath: certificateFile)
                throw CertificateCredentialError(
                    key: certificateKey,
                    exists ? "\(certificateFile) is not readable" : "\(certificateFile) does not exist")
            }
            certificateDocuments = try Self.pemDocuments(
                String(decoding: data, as: UTF8.self), key: certificateKey, source: certificateSource)
        } else {
            certificateKey = keyKey
            certificateSource = "\(privateKey)"
            certificateDocuments = keyDocuments
        }
        // The first certificate is the app's own; any that follow would be its issuers (a chain file).
        guard let certificateDocument = certificateDocuments.first(where: { $0.discriminator == "CERTIFICATE" }) else {
            throw CertificateCredentialError(
                key: certificateKey,
                "\(certificateSource) holds no certificate (a -----BEGIN CERTIFICATE----- block)"
                    + (certificateFile == nil ? "; name the certificate's file in credential.certificateFile" : ""))
        }
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: certificateDocument.derBytes)
        } catch {
            throw CertificateCredentialError(
                key: certificateKey, "the certificate in \(certificateSource) cannot be parsed as X.509")
        }
        guard _RSA.Signing.PublicKey(certificate.publicKey) != nil else {
            throw CertificateCredentialError(
                key: certificateKey,
                "the certificate in \(certificateSource) has a \(certificate.publicKey) key; Entra client assertions "
                    + "need an RSA certificate")
        }
        guard Certificate.PublicKey(key.publicKey) == certificate.publicKey else {
            throw CertificateCredentialError(
                key: keyKey,
                "the private key from \(privateKey) does not match the public key of the certificate in "
                    + "\(certificateSource) (subject \(certificate.subject)): use the key the certificate was made for")
        }
        guard certificate.notValidAfter > now else {
            throw CertificateCredentialError(
                key: certificateKey,
                "the certificate in \(certificateSource) (subject \(certificate.subject)) expired on "
                    + "\(certificate.notValidAfter.formatted(.iso8601)): create a new one and upload it to the app "
                    + "registration")
        }
        return ClientCertificate(
            privateKey: key, certificate: certificate, certificateDER: certificateDocument.derBytes)
    }

    /// Every PEM block in `text`; none, or a broken one, is an error naming `source`.
    private static func pemDocuments(
        _ text: String, key: String, source: String
    ) throws(CertificateCredentialError) -> [PEMDocument] {
        // The parser's own messages are not passed on: for the key file they might quote its content.
        guard let documents = try? PEMDocument.parseMultiple(pemString: text), !documents.isEmpty else {
            throw CertificateCredentialError(
                key: key, "\(source) is not PEM text (-----BEGIN ...----- blocks) or holds a damaged block")
        }
        return documents
    }

    /// The one RSA private key among `documents`.
    private static func privateKey(
        in documents: [PEMDocument], key: String, source: String
    ) throws(CertificateCredentialError) -> _RSA.Signing.PrivateKey {
        let kinds = Set(documents.map(\.discriminator))
        if kinds.contains("ENCRYPTED PRIVATE KEY") {
            throw CertificateCredentialError(
                key: key,
                "the private key in \(source) is encrypted; store it unencrypted (openssl pkey -in KEY -out "
                    + "PLAIN) in a file only the service can read, or as a systemd credential")
        }
        if kinds.contains("EC PRIVATE KEY") {
            throw CertificateCredentialError(
                key: key, "the private key in \(source) is an EC key; Entra client assertions need an RSA key")
        }
        let keys = documents.filter { $0.discriminator == "PRIVATE KEY" || $0.discriminator == "RSA PRIVATE KEY" }
        guard let document = keys.first else {
            throw CertificateCredentialError(
                key: key, "\(source) holds no private key (a -----BEGIN PRIVATE KEY----- block)")
        }
        guard keys.count == 1 else {
            throw CertificateCredentialError(key: key, "\(source) holds \(keys.count) private keys; keep only one")
        }
        do {
            return try _RSA.Signing.PrivateKey(derRepresentation: document.derBytes)
        } catch {
            throw CertificateCredentialError(
                key: key, "the private key in \(source) is not an RSA key of at least 2048 bits")
        }
    }
}
