import Foundation
import GraphSimulator
import InMemoryLogging
import Logging
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

@testable import PresenceSync

@Suite("Signing in with a certificate: client assertions made here, verified by the simulator")
struct CertificateSignInTests {
    static let http = GraphHTTP(connectTimeoutSeconds: 5, requestTimeoutSeconds: 5)

    /// A simulator with `registered` certificates on its app, whose clock runs `clockOffset` seconds ahead.
    static func simulator(
        registered: [String], clockOffset: Double = 0
    ) async throws -> (GraphSimulator, SimulatorConfiguration) {
        var settings = SimulatorConfiguration()
        settings.userCount = 3
        settings.clientCertificates = registered
        settings.clockOffsetSeconds = clockOffset
        let simulator = GraphSimulator(configuration: settings)
        _ = try await simulator.start()
        return (simulator, settings)
    }

    /// A configuration for `simulator` signing in with `certificate`'s key and certificate written to `directory`.
    static func configuration(
        _ simulator: GraphSimulator, _ settings: SimulatorConfiguration, certificate: TestCertificate,
        algorithm: String, directory: TemporaryDirectory
    ) throws -> Configuration {
        let certificateFile = directory.write("app.crt", certificate.certificatePEM)
        let keyFile = directory.write("app.key", certificate.privateKeyPEM)
        var document = SimulatorSetup.document(
            for: simulator, settings: settings, database: directory.file("presence.db"))
        document["credential"] = [
            "type": "certificate", "certificateFile": certificateFile, "file": keyFile, "algorithm": algorithm,
        ]
        return try SimulatorSetup.configuration(document)
    }

    static func provider(_ configuration: Configuration, logs: InMemoryLogHandler) -> AccessTokenProvider {
        var logger = Logger(label: "test") { _ in logs }
        logger.logLevel = .trace
        return AccessTokenProvider(
            tenantID: configuration.tenantID, clientID: configuration.clientID, credential: configuration.credential,
            endpoints: configuration.endpoints, http: http, logger: logger, environment: [:])
    }

    static func logText(_ logs: InMemoryLogHandler) -> String {
        logs.entries.map { "\($0.level) \($0.message) \($0.metadata)" }.joined(separator: "\n")
    }

    @Test(
        "PS256 and RS256 sign-ins are accepted, and the simulator verified the assertion",
        arguments: ["PS256", "RS256"])
    func signIn(algorithm: String) async throws {
        let (simulator, settings) = try await Self.simulator(registered: [TestCertificate.shared.certificatePEM])
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let configuration = try Self.configuration(
            simulator, settings, certificate: .shared, algorithm: algorithm, directory: directory)
        let logs = InMemoryLogHandler()
        let tokens = Self.provider(configuration, logs: logs)
        _ = try await tokens.token()
        #expect(simulator.statistics.clientAssertionsAccepted == 1)
        #expect(simulator.statistics.lastClientAssertionAlgorithm == algorithm)
        #expect(simulator.statistics.tokensIssued == 1)
        #expect(await tokens.signInState.isFailing == false)
        #expect(!Self.logText(logs).contains(TestCertificate.shared.privateKeyMarker))
    }

    @Test("the assertion has Entra's header and claims")
    func assertionShape() throws {
        let directory = TemporaryDirectory()
        let certificateFile = directory.write("app.crt", TestCertificate.shared.certificatePEM)
        let keyFile = directory.write("app.key", TestCertificate.shared.privateKeyPEM)
        let loaded = try CertificateCredential(certificateFile: certificateFile, privateKey: .file(keyFile)).load()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        for algorithm in ClientAssertionAlgorithm.allCases {
            let jwt = try ClientAssertion.make(
                certificate: loaded, algorithm: algorithm, audience: "https://login.example/t/oauth2/v2.0/token",
                clientID: "11111111-2222-3333-4444-555555555555", now: now)
            let parts = jwt.split(separator: ".")
            #expect(parts.count == 3)
            #expect(!jwt.contains("="))
            let header = try Self.json(parts[0])
            let claims = try Self.json(parts[1])
            #expect(header["alg"] as? String == algorithm.rawValue)
            #expect(header["typ"] as? String == "JWT")
            let thumbprint = header[algorithm.thumbprintHeader] as? String
            #expect(thumbprint?.count == (algorithm == .ps256 ? 43 : 27))
            #expect(header.count == 3, "one thumbprint header only")
            #expect(claims["aud"] as? String == "https://login.example/t/oauth2/v2.0/token")
            #expect(claims["iss"] as? String == "11111111-2222-3333-4444-555555555555")
            #expect(claims["sub"] as? String == "11111111-2222-3333-4444-555555555555")
            #expect(UUID(uuidString: claims["jti"] as? String ?? "") != nil)
            #expect(claims["nbf"] as? Int == 1_800_000_000)
            #expect(claims["iat"] as? Int == 1_800_000_000)
            let lifetime = (claims["exp"] as? Int ?? 0) - 1_800_000_000
            #expect(lifetime > 0 && lifetime <= 600)
        }
    }

    /// One way a client assertion can be wrong, and Entra's code for it.
    struct BadAssertion: Sendable, CustomTestStringConvertible {
        let name: String
        let audience: (@Sendable (String) -> String)?
        let clientID: String?
        let minutesAgo: Double
        let tamper: Bool
        let code: Int
        var testDescription: String { name }
    }

    @Test(
        "the simulator refuses bad assertions with Entra's codes",
        arguments: [
            BadAssertion(
                name: "tampered claims", audience: nil, clientID: nil, minutesAgo: 0, tamper: true, code: 700_027),
            BadAssertion(name: "expired", audience: nil, clientID: nil, minutesAgo: 20, tamper: false, code: 700_024),
            BadAssertion(
                name: "not yet valid", audience: nil, clientID: nil, minutesAgo: -20, tamper: false, code: 700_024),
            BadAssertion(
                name: "wrong audience", audience: { $0.replacingOccurrences(of: "/oauth2/", with: "/other/") },
                clientID: nil, minutesAgo: 0, tamper: false, code: 700_023),
            BadAssertion(
                name: "another tenant's audience",
                audience: { $0.replacingOccurrences(of: "0000000051a1", with: "0000000051a2") }, clientID: nil,
                minutesAgo: 0, tamper: false, code: 700_023),
            BadAssertion(
                name: "issuer is another app", audience: nil, clientID: "99999999-2222-3333-4444-555555555555",
                minutesAgo: 0, tamper: false, code: 700_021),
        ])
    func refusals(_ bad: BadAssertion) async throws {
        let (simulator, settings) = try await Self.simulator(registered: [TestCertificate.shared.certificatePEM])
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let configuration = try Self.configuration(
            simulator, settings, certificate: .shared, algorithm: "PS256", directory: directory)
        guard case .certificate(let credential) = configuration.credential else { return }
        let loaded = try credential.load()
        let url = configuration.endpoints.tokenURL(tenant: settings.tenantID)
        var assertion = try ClientAssertion.make(
            certificate: loaded, algorithm: .ps256, audience: bad.audience?(url) ?? url,
            clientID: bad.clientID ?? settings.clientID, now: Date().addingTimeInterval(-bad.minutesAgo * 60))
        if bad.tamper {
            var parts = assertion.split(separator: ".").map(String.init)
            var claims = try Self.json(Substring(parts[1]))
            claims["sub"] = "00000000-0000-0000-0000-000000000bad"
            parts[1] = ClientCertificate.base64URL(try JSONSerialization.data(withJSONObject: claims))
            assertion = parts.joined(separator: ".")
        }
        let failure = try await Self.post(assertion: assertion, url: url, clientID: settings.clientID)
        #expect(failure?.aadstsCode == bad.code, "\(String(describing: failure))")
        #expect(failure?.status == 401)
        #expect(simulator.statistics.clientAssertionsAccepted == 0)
    }

    @Test("a certificate the app does not know is refused with AADSTS700027, logged once with what to do")
    func unregisteredCertificate() async throws {
        let (simulator, settings) = try await Self.simulator(registered: [TestCertificate.other.certificatePEM])
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let configuration = try Self.configuration(
            simulator, settings, certificate: .shared, algorithm: "RS256", directory: directory)
        let logs = InMemoryLogHandler()
        let tokens = Self.provider(configuration, logs: logs)
        for _ in 0..<3 {
            do {
                _ = try await tokens.token()
                Issue.record("sign-in must fail")
            } catch {
                #expect(error.description.contains("AADSTS700027"))
            }
        }
        #expect(simulator.statistics.tokenRequests == 1, "within the backoff no new request is sent")
        let errors = logs.entries.filter { $0.level == .error }
        #expect(errors.count == 1)
        let text = Self.logText(logs)
        #expect(text.contains("AADSTS700027"))
        #expect(text.contains("upload this certificate"))
        #expect(!text.contains(TestCertificate.shared.privateKeyMarker))
        #expect(await tokens.signInState.aadstsCode == 700_027)
    }

    @Test("a clock 20 minutes off makes Entra refuse the assertion with AADSTS700024; the log says to check the clock")
    func clockOff() async throws {
        let (simulator, settings) = try await Self.simulator(
            registered: [TestCertificate.shared.certificatePEM], clockOffset: 20 * 60)
        defer { Task { await simulator.stop() } }
        let directory = TemporaryDirectory()
        let configuration = try Self.configuration(
            simulator, settings, certificate: .shared, algorithm: "PS256", directory: directory)
        let logs = InMemoryLogHandler()
        let tokens = Self.provider(configuration, logs: logs)
        await #expect(throws: GraphError.self) { _ = try await tokens.token() }
        let errors = logs.entries.filter { $0.level == .error }
        #expect(errors.count == 1)
        let text = errors.map { "\($0.message) \($0.metadata)" }.joined()
        #expect(text.contains("AADSTS700024"))
        #expect(text.contains("check this machine's clock"))
        #expect(await tokens.signInState.aadstsCode == 700_024)
    }

    /// Posts a client-credentials request with `assertion`; nil when a token was issued.
    static func post(assertion: String, url: String, clientID: String) async throws -> AuthenticationError? {
        let form = FormEncoding.encode([
            ("client_id", clientID), ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"), ("client_assertion_type", ClientAssertion.jwtBearerType),
            ("client_assertion", assertion),
        ])
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let answer = try await http.send(method: .POST, url: url, headers: headers, body: ByteBuffer(string: form))
        return answer.status == 200 ? nil : AccessTokenProvider.parseFailure(answer)
    }

    static func json(_ part: Substring) throws -> [String: Any] {
        var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        let data = try #require(Data(base64Encoded: text))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}
