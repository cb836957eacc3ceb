/// A run of consecutive serves of one user in `getPresencesByUserId` answers that showed the same state with the
/// same fields left out (see ``GraphSimulator/servedAnswers(for:)``).
///
/// Runs are compressed, not one entry per serve: a new entry starts whenever the state or the omitted fields differ
/// from the previous serve's, and `serveCount` says how many serves the run covers.
public struct ServedAnswer: Sendable, Hashable {
    /// The full state the simulator had when serving, including the values of fields it left out.
    public var presence: SimulatedPresence
    /// The fields absent from the served object (empty for a complete object).
    public var omittedFields: Set<OmittableField>
    /// How many consecutive serves showed exactly this (at least 1).
    public var serveCount: Int

    /// A run of `serveCount` serves of `presence` without `omittedFields`.
    public init(presence: SimulatedPresence, omittedFields: Set<OmittableField>, serveCount: Int = 1) {
        self.presence = presence
        self.omittedFields = omittedFields
        self.serveCount = serveCount
    }
}

extension ServedAnswer: Codable {
    private enum CodingKeys: String, CodingKey {
        case presence, omittedFields, serveCount
    }

    /// Decodes the JSON form of `GET /_simulator/served-answers/{userID}`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        presence = try container.decode(SimulatedPresence.self, forKey: .presence)
        omittedFields = try container.decode(Set<OmittableField>.self, forKey: .omittedFields)
        serveCount = try container.decode(Int.self, forKey: .serveCount)
    }

    /// Encodes omitted fields in presence-object order, so that equal runs encode equally.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(presence, forKey: .presence)
        try container.encode(OmittableField.allCases.filter(omittedFields.contains), forKey: .omittedFields)
        try container.encode(serveCount, forKey: .serveCount)
    }
}

/// The compact form of a ``ServedAnswer`` kept per user while recording (24 bytes).
struct ServedRun: Sendable {
    var presence: UserPresence
    var omitted: OmittedFields
    var count: UInt32

    /// The public form.
    var servedAnswer: ServedAnswer {
        ServedAnswer(presence: presence.simulatedPresence, omittedFields: omitted.fields, serveCount: Int(count))
    }
}
