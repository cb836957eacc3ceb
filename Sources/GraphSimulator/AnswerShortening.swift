/// A top-level field of a presence object that a shortened answer may leave out.
///
/// Graph documents that presence objects in `getPresencesByUserId` answers "might be shortened", and users see these
/// fields missing. `id`, `availability`, `activity` and `sequenceNumber` are never left out.
public enum OmittableField: String, Sendable, Hashable, Codable, CaseIterable {
    /// `statusMessage`.
    case statusMessage
    /// `outOfOfficeSettings`.
    case outOfOfficeSettings
    /// `workLocation`.
    case workLocation

    /// The field names, comma-separated, in the order a presence object lists them (for messages).
    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// Makes the simulator shorten some presence objects, as Graph may: chosen fields are left out entirely (the key is
/// absent, never `null`).
///
/// A fraction `userFraction` of the users is affected, chosen by a hash of the seed and the user's index, so the
/// same configuration affects the same users and raising the fraction only adds users. Each time an affected user is
/// served, its object is shortened with chance `answerFraction`, drawn from a PRNG seeded from the configuration's
/// seed but separate from the one that drives changes: shortening never alters which states are served, only how
/// they are written, and equal configurations give equal answers for the same sequence of requests.
///
/// Its JSON form (`PUT /_simulator/shortening`) is `{"fields":["statusMessage"],"userFraction":0.3,
/// "answerFraction":0.05}`; all three keys are required.
public struct AnswerShortening: Sendable, Hashable {
    /// The fields a shortened object leaves out (all of them, together).
    public var fields: Set<OmittableField>
    /// The fraction of users (0...1) whose objects may be shortened.
    public var userFraction: Double
    /// For an affected user, the chance (0...1) that one serve of its object is shortened.
    public var answerFraction: Double

    /// A shortening of `fields` for `userFraction` of the users in `answerFraction` of their serves.
    public init(fields: Set<OmittableField>, userFraction: Double, answerFraction: Double) {
        self.fields = fields
        self.userFraction = userFraction
        self.answerFraction = answerFraction
    }

    /// Throws when no field is named or a fraction lies outside 0...1 (or is not a number), naming the problem.
    ///
    /// ``GraphSimulator/setShortening(_:)`` and the control endpoint check this; a configuration given to
    /// ``GraphSimulator/init(configuration:logger:)`` is not checked and behaves as if its fractions were clamped.
    public func validate() throws(GraphSimulatorError) {
        guard !fields.isEmpty else {
            throw GraphSimulatorError(message: "'fields' must name at least one of \(OmittableField.names)")
        }
        for (name, value) in [("userFraction", userFraction), ("answerFraction", answerFraction)] {
            guard (0...1).contains(value) else {
                throw GraphSimulatorError(message: "'\(name)' must lie between 0 and 1, not \(value)")
            }
        }
    }
}

extension AnswerShortening: Codable {
    private enum CodingKeys: String, CodingKey {
        case fields, userFraction, answerFraction
    }

    /// Decodes the JSON form; an unknown field name is a `dataCorrupted` error whose description names it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var fields: Set<OmittableField> = []
        for name in try container.decode([String].self, forKey: .fields) {
            guard let field = OmittableField(rawValue: name) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .fields, in: container,
                    debugDescription: "'\(name)' is not a field that can be omitted; use \(OmittableField.names)")
            }
            fields.insert(field)
        }
        self.fields = fields
        userFraction = try container.decode(Double.self, forKey: .userFraction)
        answerFraction = try container.decode(Double.self, forKey: .answerFraction)
    }

    /// Encodes the JSON form, fields in presence-object order so that equal values encode equally.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(OmittableField.allCases.filter(fields.contains).map(\.rawValue), forKey: .fields)
        try container.encode(userFraction, forKey: .userFraction)
        try container.encode(answerFraction, forKey: .answerFraction)
    }
}
