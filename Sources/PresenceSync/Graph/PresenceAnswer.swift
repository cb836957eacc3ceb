import Foundation

/// Decodes a getPresencesByUserId answer into observations, refusing answers that are not the documented shape.
///
/// Graph may shorten presence objects, so only `id`, `availability` and `activity` are required; everything else
/// is optional. Unknown fields are ignored and unknown availability/activity values are kept as strings.
/// One bad object rejects the whole answer: a batch is written completely or not at all.
enum PresenceAnswer {
    private struct Document: Decodable {
        var value: [Item]
    }

    private struct Item: Decodable {
        var id: String
        var availability: String
        var activity: String
        var statusMessage: StatusMessage?
        var outOfOfficeSettings: OutOfOffice?
        var sequenceNumber: String?
        var workLocation: WorkLocation?
    }

    private struct StatusMessage: Decodable {
        var message: ItemBody?
    }

    private struct ItemBody: Decodable {
        var content: String?
    }

    private struct OutOfOffice: Decodable {
        var message: String?
        var isOutOfOffice: Bool?
    }

    private struct WorkLocation: Decodable {
        var workLocationType: String?
    }

    static func decode(_ bytes: some Collection<UInt8>, requestID: String?) throws(GraphError) -> [PresenceObservation] {
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(bytes))
        } catch {
            throw .malformedAnswer(reason: describe(error), requestID: requestID)
        }
        return document.value.map { item in
            PresenceObservation(
                userID: item.id.lowercased(),
                state: PresenceState(
                    availability: item.availability,
                    activity: item.activity,
                    statusMessage: item.statusMessage?.message?.content,
                    isOutOfOffice: item.outOfOfficeSettings?.isOutOfOffice ?? false,
                    outOfOfficeMessage: item.outOfOfficeSettings?.message,
                    workLocationType: item.workLocation?.workLocationType),
                sequenceNumber: item.sequenceNumber)
        }
    }

    /// A one-line reason naming the JSON path, e.g. "value[3].availability: missing".
    private static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ keys: [any CodingKey]) -> String {
            keys.reduce("") { text, key in
                if let index = key.intValue { return text + "[\(index)]" }
                return text.isEmpty ? key.stringValue : text + "." + key.stringValue
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            let base = path(context.codingPath)
            return (base.isEmpty ? "" : base + ".") + key.stringValue + ": missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return path(context.codingPath) + ": " + context.debugDescription
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "not valid JSON" + (underlying.map { " (\($0))" } ?? "")
        @unknown default:
            return "\(error)"
        }
    }
}
