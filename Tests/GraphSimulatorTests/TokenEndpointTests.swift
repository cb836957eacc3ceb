import Foundation
import GraphSimulator
import TestSupport
import Testing

/// One way to get a token request wrong, and the Entra error it must produce.
struct TokenErrorCase: Sendable, CustomTestStringConvertible {
    let name: String
    let tenant: String?
    let change: @Sendable (inout [String: String]) -> Void
    let status: Int
    let error: String
    let number: Int

    var testDescription: String { name }

    static let all: [TokenErrorCase] = [
        TokenErrorCase(
            name: "unknown tenant", tenant: "99999999-9999-9999-9999-999999999999", change: { _ in },
            status: 400, error: "invalid_tenant", number: 90002),
        TokenErrorCase(
            name: "unknown client id", tenant: nil,
            change: { $0["client_id"] = "00000000-1111-2222-3333-444444444444" },
            status: 400, error: "unauthorized_client", number: 700016),
        TokenErrorCase(
            name: "wrong secret", tenant: nil, change: { $0["client_secret"] = "not-the-secret" },
            status: 401, error: "invalid_client", number: 7_000_215),
        TokenErrorCase(
            name: "no credential", tenant: nil, change: { $0["client_secret"] = nil },
            status: 401, error: "invalid_client", number: 7_000_218),
        TokenErrorCase(
            name: "certificate assertion",
            tenant: nil,
            change: {
                $0["client_secret"] = nil
                $0["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                $0["client_assertion"] = "eyJhbGciOiJQUzI1NiJ9.e30.c2ln"
            },
            status: 401, error: "invalid_client", number: 700027),
        TokenErrorCase(
            name: "wrong grant type", tenant: nil, change: { $0["grant_type"] = "password" },
            status: 400, error: "unsupported_grant_type", number: 70003),
        TokenErrorCase(
            name: "missing grant type", tenant: nil, change: { $0["grant_type"] = nil },
            status: 400, error: "invalid_request", number: 900144),
        TokenErrorCase(
            name: "scope without /.default", tenant: nil,
            change: { $0["scope"] = "https://graph.microsoft.com/Presence.Read.All" },
            status: 400, error: "invalid_scope", number: 1_002_012),
    ]
}

@Suite("Entra token endpoint")
struct TokenEndpointTests {
    @Test("issues an opaque bearer token with the configured lifetime")
    func issuesToken() async throws {
        try await withSimulator(.testing(tokenLifetimeSeconds: 1234)) { simulator, client in
            let answer = try await client.requestToken()
            #expect(answer.status == 200)
            #expect(answer.object["token_type"] as? String == "Bearer")
            #expect(answer.object["expires_in"] as? Int == 1234)
            #expect(answer.object["ext_expires_in"] as? Int == 1234)
            let token = try #require(answer.object["access_token"] as? String)
            #expect(token.count >= 32)
            #expect(try await client.accessToken() != token, "every request gets a fresh token")
            #expect(simulator.statistics.tokenRequests == 2)
            #expect(simulator.statistics.tokensIssued == 2)
        }
    }

    @Test("answers each credential mistake with Entra's error shape", arguments: TokenErrorCase.all)
    func entraErrors(_ errorCase: TokenErrorCase) async throws {
        try await withSimulator { simulator, client in
            var form = client.validTokenForm
            errorCase.change(&form)
            let answer = try await client.requestToken(tenant: errorCase.tenant, form: form)
            #expect(answer.status == errorCase.status)
            let body = answer.object
            #expect(body["error"] as? String == errorCase.error)
            let description = try #require(body["error_description"] as? String)
            #expect(description.hasPrefix("AADSTS\(errorCase.number): "))
            #expect(body["error_codes"] as? [Int] == [errorCase.number])
            #expect((body["timestamp"] as? String)?.hasSuffix("Z") == true)
            #expect(UUID(uuidString: body["trace_id"] as? String ?? "") != nil)
            #expect(UUID(uuidString: body["correlation_id"] as? String ?? "") != nil)
            #expect(body["access_token"] == nil)
            #expect(simulator.statistics.rejectedRequests == 1)
            #expect(simulator.statistics.tokensIssued == 0)
        }
    }

    @Test("echoes client-request-id as the correlation id and accepts the tenant id in any case")
    func correlationID() async throws {
        try await withSimulator { _, client in
            let correlation = "0b7e4f8c-1111-4222-8333-944444444444"
            var form = client.validTokenForm
            form["client_secret"] = "wrong"
            let answer = try await client.requestToken(form: form, headers: ["client-request-id": correlation])
            #expect(answer.object["correlation_id"] as? String == correlation)
            let upper = try await client.requestToken(tenant: client.configuration.tenantID.uppercased())
            #expect(upper.status == 200)
        }
    }

    @Test("a registered certificate that is not a PEM certificate stops start(); a good one starts")
    func registeredCertificates() async throws {
        var bad = SimulatorConfiguration.testing()
        bad.clientCertificates = ["not a certificate"]
        await #expect(throws: GraphSimulatorError.self) {
            _ = try await GraphSimulator(configuration: bad, logger: quietLogger).start()
        }
        var good = SimulatorConfiguration.testing()
        good.clientCertificates = [TestCertificate.shared.certificatePEM]
        try await withSimulator(good) { _, client in
            // Without a thumbprint the assertion cannot name a registered certificate.
            var form = client.validTokenForm
            form["client_secret"] = nil
            form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            form["client_assertion"] = "eyJhbGciOiJQUzI1NiJ9.e30.c2ln"
            let answer = try await client.requestToken(form: form)
            #expect(answer.status == 401)
            #expect(answer.object["error_codes"] as? [Int] == [700027])
            // The secret still works beside the certificate.
            #expect(try await client.requestToken().status == 200)
        }
    }
}
