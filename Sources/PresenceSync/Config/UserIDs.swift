/// Checks on Entra user object ids, the only kind of id getPresencesByUserId accepts.
public enum UserIDs {
    /// True for a GUID in its 8-4-4-4-12 hexadecimal text form (either case).
    public static func isObjectID(_ text: String) -> Bool {
        isObjectID(bytes: text.utf8)
    }

    /// True when `bytes` are a GUID's text form (either case), as `isObjectID(_:)` checks it.
    public static func isObjectID<Bytes: Collection<UInt8>>(bytes: Bytes) -> Bool {
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                let isHex = (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 70) || (byte >= 97 && byte <= 102)
                guard isHex else { return false }
            }
        }
        return true
    }

    /// `bytes` as a String with ASCII letters lower-cased, in one allocation (ids from a users file or an answer).
    static func lowercased(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count) { buffer in
            for (index, byte) in bytes.enumerated() {
                buffer[index] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
            }
            return bytes.count
        }
    }

    static func lowercased(_ bytes: UnsafeBufferPointer<UInt8>) -> String { lowercased(UnsafeRawBufferPointer(bytes)) }
}
