import Foundation

/// A certificate credential (`credential.type: "certificate"`): where the certificate and its private key are,
/// and how the client assertion is signed.
///
/// The files are read and checked when the configuration is loaded (a bad pair stops the start with exit 78) and
/// read again at each sign-in, so a renewed certificate and key are picked up without a restart.
public struct CertificateCredential: Sendable, Equatable {
    /// The certificate's PEM file; nil when the private key's PEM also holds the certificate.
    public var certificateFile: String?
    /// Where the private key's PEM text comes from: a file, an environment variable or a systemd credential.
    public var privateKey: SecretSource
    /// How the client assertion is signed.
    public var algorithm: ClientAssertionAlgorithm

    public init(certificateFile: String?, privateKey: SecretSource, algorithm: ClientAssertionAlgorithm = .ps256) {
        self.certificateFile = certificateFile
        self.privateKey = privateKey
        self.algorithm = algorithm
    }
}

/// The JWS algorithms Entra accepts for a client assertion, each with its thumbprint header.
public enum ClientAssertionAlgorithm: String, Sendable, Equatable, CaseIterable {
    /// RSASSA-PSS with SHA-256 (MGF1 SHA-256, 32-byte salt); header `x5t#S256`: the certificate's SHA-256
    /// thumbprint. Microsoft's current recommendation, and the default.
    case ps256 = "PS256"
    /// RSASSA-PKCS1-v1_5 with SHA-256; header `x5t`: the certificate's SHA-1 thumbprint (older libraries).
    case rs256 = "RS256"

    /// The JOSE header that carries the certificate thumbprint for this algorithm.
    public var thumbprintHeader: String {
        switch self {
        case .ps256: "x5t#S256"
        case .rs256: "x5t"
        }
    }
}

/// A certificate credential could not be loaded. Names the configuration key and the file (or other source) that
/// is at fault, never the key material.
public struct CertificateCredentialError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The key inside `credential` that names the faulty source: `certificateFile`, `file`, `environment` or
    /// `systemdCredential`.
    public var key: String
    /// What is wrong, naming the file or source.
    public var problem: String

    public init(key: String, _ problem: String) {
        self.key = key
        self.problem = problem
    }

    public var description: String { "credential.\(key): \(problem)" }
}

extension SecretSource {
    /// The configuration key this source was given with (`file`, `environment`, `systemdCredential`).
    var configurationKey: String {
        switch self {
        case .file: "file"
        case .environment: "environment"
        case .systemdCredential: "systemdCredential"
        }
    }
}
