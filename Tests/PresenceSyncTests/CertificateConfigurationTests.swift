import Foundation
import PresenceSync
import TestSupport
import Testing

/// One way to get a certificate credential wrong, and what the configuration error must say.
struct CertificateConfigCase: Sendable, CustomTestStringConvertible {
    let name: String
    /// Builds `credential` from the test directory; returns the credential and the file the error must name.
    let make: @Sendable (TemporaryDirectory) throws -> (credential: [String: String], file: String)
    let key: String
    let problem: String

    var testDescription: String { name }

    static let all: [CertificateConfigCase] = [
        CertificateConfigCase(
            name: "key file missing",
            make: { directory in
                let certificate = directory.write("app.crt", TestCertificate.shared.certificatePEM)
                let key = directory.file("absent.key")
                return (["type": "certificate", "certificateFile": certificate, "file": key], key)
            }, key: "credential.file", problem: "does not exist"),
        CertificateConfigCase(
            name: "key file unreadable",
            make: { directory in
                let certificate = directory.write("app.crt", TestCertificate.shared.certificatePEM)
                // A directory cannot be read as a file, even by root (tests may run as root).
                let key = directory.file("key-dir")
                try FileManager.default.createDirectory(atPath: key, withIntermediateDirectories: true)
                return (["type": "certificate", "certificateFile": certificate, "file": key], key)
            }, key: "credential.file", problem: "not readable"),
        CertificateConfigCase(
            name: "certificate file missing",
            make: { directory in
                let key = directory.write("app.key", TestCertificate.shared.privateKeyPEM)
                let certificate = directory.file("absent.crt")
                return (["type": "certificate", "certificateFile": certificate, "file": key], certificate)
            }, key: "credential.certificateFile", problem: "does not exist"),
        CertificateConfigCase(
            name: "key file is not PEM",
            make: { directory in
                let certificate = directory.write("app.crt", TestCertificate.shared.certificatePEM)
                let key = directory.write("app.key", "this is not a key\n")
                return (["type": "certificate", "certificateFile": certificate, "file": key], key)
            }, key: "credential.file", problem: "is not PEM text"),
        CertificateConfigCase(
            name: "certificate file is not PEM",
            make: { directory in
                let key = directory.write("app.key", TestCertificate.shared.privateKeyPEM)
                let certificate = directory.write("app.crt", "{}")
                return (["type": "certificate", "certificateFile": certificate, "file": key], certificate)
            }, key: "credential.certificateFile", problem: "is not PEM text"),
        CertificateConfigCase(
            name: "no certificate in the key's PEM and no certificateFile",
            make: { directory in
                let key = directory.write("app.key", TestCertificate.shared.privateKeyPEM)
                return (["type": "certificate", "file": key], key)
            }, key: "credential.file", problem: "holds no certificate"),
        CertificateConfigCase(
            name: "certificate file holds a key only",
            make: { directory in
                let key = directory.write("app.key", TestCertificate.shared.privateKeyPEM)
                let certificate = directory.write("app.crt", TestCertificate.other.privateKeyPEM)
                return (["type": "certificate", "certificateFile": certificate, "file": key], certificate)
            }, key: "credential.certificateFile", problem: "holds no certificate"),
        CertificateConfigCase(
            name: "no private key",
            make: { directory in
                let certificate = directory.write("app.crt", TestCertificate.shared.certificatePEM)
                let key = directory.write("app.key", TestCertificate.shared.certificatePEM)
                return (["type": "certificate", "certificateFile": certificate, "file": key], key)
            }, key: "credential.file", problem: "holds no private key"),
        CertificateConfigCase(
            name: "key does not match the certificate",
            make: { directory in
                let certificate = directory.write("app.crt", TestCertificate.shared.certificatePEM)
                let key = directory.write("other.key", TestCertificate.other.privateKeyPEM)
                return (["type": "certificate", "certificateFile": certificate, "file": key], key)
            }, key: "credential.file", problem: "does not match the public key of the certificate"),
        CertificateConfigCase(
            name: "certificate expired",
            make: { directory in
                let certificate = directory.write("app.crt", try TestCertificate.expired().certificatePEM)
                let key = directory.write("app.key", TestCertificate.shared.privateKeyPEM)
                return (["type": "certificate", "certificateFile": certificate, "file": key], certificate)
            }, key: "credential.certificateFile", problem: "expired on"),
    ]
}

@Suite("Configuration: certificate credentials are loaded and checked at load")
struct CertificateConfigurationTests {
    static func document(credential: [String: String]) -> [String: Any] {
        [
            "tenantId": "contoso.onmicrosoft.com",
            "clientId": "11111111-2222-3333-4444-555555555555",
            "credential": credential,
            "users": ["00000000-0000-4000-8000-00000000a11c"],
        ]
    }

    static func parse(_ credential: [String: String], environment: [String: String] = [:]) throws -> Configuration {
        try Configuration.parse(
            JSONSerialization.data(withJSONObject: document(credential: credential)), environment: environment)
    }

    @Test("certificate and key in two files, PS256 by default")
    func separateFiles() throws {
        let directory = TemporaryDirectory()
        let certificate = directory.write("app.crt", TestCertificate.shared.certificatePEM)
        let key = directory.write("app.key", TestCertificate.shared.privateKeyPEM)
        let configuration = try Self.parse(["type": "certificate", "certificateFile": certificate, "file": key])
        #expect(
            configuration.credential
                == .certificate(CertificateCredential(certificateFile: certificate, privateKey: .file(key))))
    }

    @Test("one PEM holding both, a PKCS#1 key, RS256, from a systemd credential")
    func combinedPEM() throws {
        let directory = TemporaryDirectory()
        directory.write("app.pem", TestCertificate.shared.certificatePEM + TestCertificate.shared.rsaPrivateKeyPEM)
        let configuration = try Self.parse(
            ["type": "certificate", "systemdCredential": "app.pem", "algorithm": "RS256"],
            environment: ["CREDENTIALS_DIRECTORY": directory.path])
        guard case .certificate(let credential) = configuration.credential else {
            Issue.record("expected a certificate credential")
            return
        }
        #expect(credential.certificateFile == nil)
        #expect(credential.privateKey == .systemdCredential("app.pem"))
        #expect(credential.algorithm == .rs256)
        let loaded = try credential.load(environment: ["CREDENTIALS_DIRECTORY": directory.path])
        #expect(loaded.thumbprintHex.count == 40)
        #expect(!"\(loaded)".contains(TestCertificate.shared.privateKeyMarker))
    }

    @Test("the key may come from an environment variable")
    func keyFromEnvironment() throws {
        let directory = TemporaryDirectory()
        let certificate = directory.write("app.crt", TestCertificate.shared.certificatePEM)
        _ = try Self.parse(
            ["type": "certificate", "certificateFile": certificate, "environment": "APP_KEY"],
            environment: ["APP_KEY": TestCertificate.shared.privateKeyPEM])
        #expect(throws: ConfigError.self) {
            _ = try Self.parse(["type": "certificate", "certificateFile": certificate, "environment": "APP_KEY"])
        }
    }

    @Test("each bad certificate or key is refused naming the key and the file", arguments: CertificateConfigCase.all)
    func refusals(_ errorCase: CertificateConfigCase) throws {
        let directory = TemporaryDirectory()
        let (credential, file) = try errorCase.make(directory)
        do {
            _ = try Self.parse(credential)
            Issue.record("the configuration must be refused")
        } catch let error as ConfigError {
            #expect(error.key == errorCase.key)
            #expect(error.problem.contains(errorCase.problem), "\(error.problem)")
            #expect(error.problem.contains(file), "\(error.problem)")
            #expect(!error.description.contains(TestCertificate.shared.privateKeyMarker))
            #expect(!error.description.contains(TestCertificate.other.privateKeyMarker))
        }
    }

    @Test("an inline key, an unknown algorithm or two key sources are refused")
    func badShapes() throws {
        let directory = TemporaryDirectory()
        let certificate = directory.write("app.crt", TestCertificate.shared.certificatePEM)
        let key = directory.write("app.key", TestCertificate.shared.privateKeyPEM)
        let cases: [([String: String], String)] = [
            (["type": "certificate", "certificateFile": certificate, "value": "-----BEGIN"], "credential.value"),
            (
                ["type": "certificate", "certificateFile": certificate, "file": key, "algorithm": "ES256"],
                "credential.algorithm"
            ),
            (["type": "certificate", "certificateFile": certificate, "file": key, "environment": "K"], "credential"),
            (
                ["type": "certificate", "certificateFile": certificate, "file": key, "privateKey": "x"],
                "credential.privateKey"
            ),
            (["type": "password", "file": key], "credential.type"),
        ]
        for (credential, expectedKey) in cases {
            #expect(throws: ConfigError.self) { _ = try Self.parse(credential) }
            do {
                _ = try Self.parse(credential)
            } catch let error as ConfigError {
                #expect(error.key == expectedKey, "\(error)")
            }
        }
    }

    @Test("config.example.json is valid, also with its credential switched to a certificate as the README shows")
    func exampleConfiguration() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("config.example.json"))
        var document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        // Its usersFile and webhook secret exist only on an installed machine.
        document["usersFile"] = nil
        let directory = TemporaryDirectory()
        directory.write("webhook-secret", "whsec_" + Data(repeating: 7, count: 32).base64EncodedString())
        let environment = ["CREDENTIALS_DIRECTORY": directory.path]
        let example = try Configuration.parse(
            JSONSerialization.data(withJSONObject: document), environment: environment)
        #expect(example.credential == .secret(.systemdCredential("client-secret")))

        directory.write("app.crt", TestCertificate.shared.certificatePEM)
        directory.write("app-key", TestCertificate.shared.privateKeyPEM)
        document["credential"] = [
            "type": "certificate", "certificateFile": directory.file("app.crt"), "systemdCredential": "app-key",
        ]
        let switched = try Configuration.parse(
            JSONSerialization.data(withJSONObject: document), environment: environment)
        guard case .certificate(let credential) = switched.credential else {
            Issue.record("expected a certificate credential")
            return
        }
        #expect(credential.algorithm == .ps256)
    }

    @Test("check-config exits 78 for a key that does not match, and prints the thumbprint for a good pair")
    func checkConfigProcess() async throws {
        let directory = TemporaryDirectory()
        let certificate = directory.write("app.crt", TestCertificate.shared.certificatePEM)
        let key = directory.write("app.key", TestCertificate.shared.privateKeyPEM)
        let otherKey = directory.write("other.key", TestCertificate.other.privateKeyPEM)
        func write(_ name: String, key: String) throws -> String {
            let data = try JSONSerialization.data(
                withJSONObject: Self.document(
                    credential: ["type": "certificate", "certificateFile": certificate, "file": key]))
            return directory.write(name, String(decoding: data, as: UTF8.self))
        }
        let good = try ChildProcess(["check-config", "--config", try write("good.json", key: key)])
        #expect(await good.waitForExit() == 0)
        #expect(good.standardOutput.contains("thumbprint"))
        #expect(good.standardOutput.contains("PS256"))
        #expect(!good.standardOutput.contains(TestCertificate.shared.privateKeyMarker))
        let bad = try ChildProcess(["check-config", "--config", try write("bad.json", key: otherKey)])
        #expect(await bad.waitForExit() == 78)
        #expect(bad.standardError.contains("credential.file"))
        #expect(bad.standardError.contains(otherKey))
        #expect(!bad.standardError.contains(TestCertificate.other.privateKeyMarker))
    }
}
