import Foundation
import PresenceSync
import TestSupport
import Testing

/// Standard Webhooks signatures, checked against the specification's published test vector.
@Suite("Webhook signatures (Standard Webhooks)")
struct WebhookSignatureTests {
    /// The reference vector of the Standard Webhooks specification's test suite.
    static let vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let vectorID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let vectorTimestamp: Int64 = 1_614_265_330
    static let vectorBody = #"{"test": 2432232314}"#
    static let vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    static let other = "whsec_" + Data((0..<32).map { UInt8($0) }).base64EncodedString()

    @Test("the published test vector signs to the published signature")
    func vector() throws {
        let secret = try WebhookSecret(text: Self.vectorSecret, source: .environment("X"))
        let signature = WebhookSigner.signature(
            id: Self.vectorID, timestamp: Self.vectorTimestamp, body: Array(Self.vectorBody.utf8), secrets: [secret])
        #expect(signature == Self.vectorSignature)
    }

    @Test("several secrets give one signature each, and an independent verifier accepts either")
    func rotation() throws {
        let secrets = try [Self.vectorSecret, Self.other].map { try WebhookSecret(text: $0, source: .environment("X")) }
        let body = Array(Self.vectorBody.utf8)
        let signature = WebhookSigner.signature(
            id: Self.vectorID, timestamp: Self.vectorTimestamp, body: body, secrets: secrets)
        let parts = signature.split(separator: " ")
        #expect(parts.count == 2 && parts[0] == Self.vectorSignature[...] && parts.allSatisfy { $0.hasPrefix("v1,") })
        let onlyNew = [Self.other]
        #expect(
            WebhookReceiver.verify(
                id: Self.vectorID, timestamp: String(Self.vectorTimestamp), body: body, signatures: signature,
                secrets: onlyNew))
        #expect(
            !WebhookReceiver.verify(
                id: Self.vectorID, timestamp: "1614265331", body: body, signatures: signature, secrets: onlyNew))
    }

    @Test(
        "malformed secrets are refused with a reason that never shows the secret",
        arguments: [
            ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with 'whsec_'"),
            ("whsec_not*base64!", "not valid base64"),
            ("whsec_c2hvcnQ=", "24 to 64 bytes"),
        ])
    func malformed(secret: String, reason: String) {
        do {
            _ = try WebhookSecret(text: secret, source: .file("/etc/presence-sync/hook"))
            Issue.record("accepted \(reason)")
        } catch {
            #expect(error.description.contains(reason))
            #expect(error.description.contains("/etc/presence-sync/hook"))
            #expect(!error.description.contains(secret.dropFirst(6)))
        }
    }
}
