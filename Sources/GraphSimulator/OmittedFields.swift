/// The fields left out of one served presence object, as a bit set: one byte in ``SimulatedTenant/ServedUser``, so
/// that the batch writer pays a single test per object when nothing is left out.
struct OmittedFields: OptionSet, Hashable, Sendable {
    let rawValue: UInt8

    static let statusMessage = OmittedFields(rawValue: 1 << 0)
    static let outOfOfficeSettings = OmittedFields(rawValue: 1 << 1)
    static let workLocation = OmittedFields(rawValue: 1 << 2)

    init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// The bit of `field`.
    init(_ field: OmittableField) {
        switch field {
        case .statusMessage: self = .statusMessage
        case .outOfOfficeSettings: self = .outOfOfficeSettings
        case .workLocation: self = .workLocation
        }
    }

    /// The bit set of `fields`.
    init(_ fields: Set<OmittableField>) {
        self = []
        for field in fields { insert(OmittedFields(field)) }
    }

    /// The public form of the bit set.
    var fields: Set<OmittableField> {
        Set(OmittableField.allCases.filter { contains(OmittedFields($0)) })
    }
}

/// The shortening in force, prepared for the serve loop: which users it affects and what it leaves out.
struct ActiveShortening: Sendable {
    /// The setting as given.
    let setting: AnswerShortening
    /// `setting.fields` as a bit set.
    let omitted: OmittedFields
    /// Key of the per-user hash that decides who is affected; depends on the seed only, not on the setting.
    private let userKey: UInt64

    init(_ setting: AnswerShortening, seed: UInt64) {
        self.setting = setting
        self.omitted = OmittedFields(setting.fields)
        self.userKey = SplitMix64.mix(seed ^ 0x5407_7E4E_0000_0000)
    }

    /// True when user `index` is among the affected `userFraction`: its hash, as a value in `0..<1`, lies below it.
    func affects(index: Int) -> Bool {
        Double(SplitMix64.mix(userKey ^ UInt64(index)) >> 11) * 0x1.0p-53 < setting.userFraction
    }

    /// What one serve of user `index` leaves out. Draws from `random` only for affected users.
    func omissions(forUser index: Int, using random: inout SplitMix64) -> OmittedFields {
        guard !omitted.isEmpty, affects(index: index), random.nextUnit() < setting.answerFraction else { return [] }
        return omitted
    }
}
