import Crypto
import Foundation

/// Signs webhook requests as Standard Webhooks specifies.
///
/// The signed content is `<webhook-id>.<webhook-timestamp>.<body>`; the signature header holds `v1,<base64
/// HMAC-SHA256>` once per secret, separated by spaces, so a receiver can verify during a secret rotation.
public enum WebhookSigner {
    /// The `webhook-signature` header value for one request.
    public static func signature(
        id: String, timestamp: Int64, body: some Collection<UInt8>, secrets: [WebhookSecret]
    ) -> String {
        // The signed content is fed to the MAC in pieces: a batch body is tens of kilobytes, not worth copying.
        let prefix = Array("\(id).\(timestamp).".utf8)
        return secrets.map { secret in
            var mac = HMAC<SHA256>(key: SymmetricKey(data: secret.key))
            mac.update(data: prefix)
            let fed: Void? = body.withContiguousStorageIfAvailable { mac.update(data: UnsafeRawBufferPointer($0)) }
            if fed == nil { mac.update(data: Array(body)) }
            return "v1," + Data(mac.finalize()).base64EncodedString()
        }.joined(separator: " ")
    }
}
