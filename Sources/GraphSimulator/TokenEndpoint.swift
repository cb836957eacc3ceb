import Foundation
import Hummingbird

/// `POST /{tenant}/oauth2/v2.0/token`: Entra's client-credentials token endpoint.
///
/// Checks, in order: tenant (400 `invalid_tenant`, AADSTS90002), `grant_type` (400 `unsupported_grant_type`,
/// AADSTS70003), `client_id` (400 `unauthorized_client`, AADSTS700016), `scope` ending in `/.default`
/// (400 `invalid_scope`, AADSTS1002012), then the credential: a JWT-bearer client assertion is checked against the
/// registered certificates by ``ClientAssertionVerifier`` (401 `invalid_client` with its AADSTS code), a missing
/// secret is 401 AADSTS7000218, a wrong one 401 AADSTS7000215. A missing parameter is 400 `invalid_request`
/// (AADSTS900144). Success answers `{"token_type":"Bearer","expires_in":N,"ext_expires_in":N,"access_token":"..."}`.
/// A queued outage (``GraphSimulator/failTokenRequests(count:status:retryAfterSeconds:)``) is answered before all
/// checks, with an HTML body as a failing front end would send.
struct TokenEndpoint: Sendable {
    let tenant: SimulatedTenant
    let assertions: ClientAssertionVerifier

    /// Fails when a registered certificate cannot be parsed.
    init(tenant: SimulatedTenant) throws(GraphSimulatorError) {
        self.tenant = tenant
        self.assertions = try ClientAssertionVerifier(
            pemTexts: tenant.configuration.clientCertificates,
            skewSeconds: tenant.configuration.assertionClockSkewSeconds)
    }

    static let jwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    private static let maximumBodyBytes = 64 * 1024

    func respond(to request: Request, context: some RequestContext) async -> Response {
        tenant.count { $0.tokenRequests += 1 }
        let clientRequestID = request.headers[GraphHeaders.clientRequestID]
        let authority = GraphHeaders.baseURL(of: request)
        if let fault = tenant.dequeueTokenFault() {
            var headers = HTTPFields()
            headers[.contentType] = "text/html"
            if let retryAfter = fault.retryAfterSeconds { headers[.retryAfter] = String(retryAfter) }
            let page = "<html><body><h1>Service Unavailable</h1></body></html>"
            return Response(
                status: HTTPResponse.Status(code: fault.status), headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        do {
            let tenantParameter = context.parameters.get("tenant") ?? ""
            let body = try await request.body.collect(upTo: Self.maximumBodyBytes)
            let form = Self.parseForm(String(buffer: body))
            try validate(tenant: tenantParameter, form: form, authority: authority)
            let token = tenant.issueToken()
            let lifetime = tenant.configuration.tokenLifetimeSeconds
            let json =
                "{\"token_type\":\"Bearer\",\"expires_in\":\(lifetime),\"ext_expires_in\":\(lifetime),"
                + "\"access_token\":\(JSONText.quoted(token))}"
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            headers[.cacheControl] = "no-store, no-cache"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: json)))
        } catch let error as EntraError {
            tenant.count { $0.rejectedRequests += 1 }
            return error.response(clientRequestID: clientRequestID, authority: authority)
        } catch {
            tenant.count { $0.rejectedRequests += 1 }
            let entraError = EntraError(
                status: .badRequest, error: "invalid_request", number: 900144,
                description: "The request body could not be read: \(error).")
            return entraError.response(clientRequestID: clientRequestID, authority: authority)
        }
    }

    private func validate(
        tenant tenantParameter: String, form: [String: String], authority: String
    ) throws(EntraError) {
        let configuration = tenant.configuration
        guard tenantParameter.lowercased() == configuration.tenantID.lowercased() else {
            throw EntraError(
                status: .badRequest, error: "invalid_tenant", number: 90002,
                description: "Tenant '\(tenantParameter)' not found. Check to make sure you have the correct tenant ID "
                    + "and are signing into the correct cloud.")
        }
        let grantType = try Self.required("grant_type", in: form)
        guard grantType == "client_credentials" else {
            throw EntraError(
                status: .badRequest, error: "unsupported_grant_type", number: 70003,
                description: "The app requested an unsupported grant type '\(grantType)'.")
        }
        let clientID = try Self.required("client_id", in: form)
        guard clientID.lowercased() == configuration.clientID.lowercased() else {
            throw EntraError(
                status: .badRequest, error: "unauthorized_client", number: 700016,
                description: "Application with identifier '\(clientID)' was not found in the directory "
                    + "'\(configuration.tenantID)'. This can happen if the application has not been installed by the "
                    + "administrator of the tenant or consented to by any user in the tenant. You may have sent your "
                    + "authentication request to the wrong tenant.")
        }
        let scope = try Self.required("scope", in: form)
        let scopes = scope.split(separator: " ")
        guard scopes.count == 1, let resource = scopes.first, resource.hasSuffix("/.default"), resource.count > 9
        else {
            throw EntraError(
                status: .badRequest, error: "invalid_scope", number: 1_002_012,
                description: "The provided value for scope \(scope) is not valid. Client credential flows must have "
                    + "a scope value with /.default suffixed to the resource identifier (application ID URI).")
        }
        try validateCredential(form: form, tenant: tenantParameter, authority: authority)
    }

    private func validateCredential(
        form: [String: String], tenant tenantParameter: String, authority: String
    ) throws(EntraError) {
        let assertionType = form["client_assertion_type"]
        if assertionType != nil || form["client_assertion"] != nil {
            let type = try Self.required("client_assertion_type", in: form)
            let assertion = try Self.required("client_assertion", in: form)
            guard type == Self.jwtBearerAssertionType else {
                throw EntraError(
                    status: .badRequest, error: "invalid_request", number: 90014,
                    description: "The required field 'client_assertion_type' has an unsupported value '\(type)'.")
            }
            let algorithm = try assertions.verify(
                assertion, clientID: tenant.configuration.clientID, tenant: tenantParameter, authority: authority,
                now: Date().addingTimeInterval(tenant.configuration.clockOffsetSeconds))
            tenant.count { statistics in
                statistics.clientAssertionsAccepted += 1
                statistics.lastClientAssertionAlgorithm = algorithm
            }
            return
        }
        guard let secret = form["client_secret"], !secret.isEmpty else {
            throw EntraError(
                status: .unauthorized, error: "invalid_client", number: 7_000_218,
                description: "The request body must contain the following parameter: 'client_assertion' or "
                    + "'client_secret'.")
        }
        guard secret == tenant.configuration.clientSecret else {
            throw EntraError(
                status: .unauthorized, error: "invalid_client", number: 7_000_215,
                description: "Invalid client secret provided. Ensure the secret being sent in the request is the "
                    + "client secret value, not the client secret ID, for a secret added to app "
                    + "'\(tenant.configuration.clientID)'.")
        }
    }

    private static func required(_ name: String, in form: [String: String]) throws(EntraError) -> String {
        guard let value = form[name], !value.isEmpty else {
            throw EntraError(
                status: .badRequest, error: "invalid_request", number: 900144,
                description: "The request body must contain the following parameter: '\(name)'.")
        }
        return value
    }

    /// Decodes `application/x-www-form-urlencoded` text (`+` is a space); the first occurrence of a name wins.
    static func parseForm(_ text: String) -> [String: String] {
        var form: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (part: Substring) in
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            let name = decode(parts[0])
            if form[name] == nil {
                form[name] = parts.count > 1 ? decode(parts[1]) : ""
            }
        }
        return form
    }
}
