/// One user's presence in a compact form (indices into ``PresenceCatalog``), 16 bytes, so that 100,000 users and
/// their served-state history stay cheap to keep, copy and compare.
struct UserPresence: Equatable, Sendable {
    var pair: UInt8
    var isOutOfOffice: Bool
    /// Index into ``PresenceCatalog/statusMessages``, -1 for none (`statusMessage: null`).
    var statusMessage: Int16
    /// Index into ``PresenceCatalog/outOfOfficeMessages``, -1 for none.
    var outOfOfficeMessage: Int16
    /// Index into ``PresenceCatalog/workLocations``, -1 for none (`workLocation: null`).
    var workLocation: Int16
    var sequence: UInt64

    /// Placeholder of a user not yet touched (sequence 0, which no real state has): tenants build instantly.
    static let untouched = UserPresence(
        pair: 0, isOutOfOffice: false, statusMessage: -1, outOfOfficeMessage: -1, workLocation: -1, sequence: 0)

    /// Sequence numbers of initial states lie below this; every later change takes a larger one.
    static let firstChangeSequence: UInt64 = 0x0000_0100_0000_0000

    /// The deterministic initial state of user `index` for `seed`.
    static func initial(index: Int, seed: UInt64) -> UserPresence {
        var random = SplitMix64(seed: SplitMix64.mix(seed ^ 0x5EED_0000_0000_0000) ^ UInt64(index))
        let pair = PresenceCatalog.weightedPairIndex(using: &random)
        let status = random.nextUnit() < 0.3 ? random.nextIndex(PresenceCatalog.statusMessages.count) : -1
        let isOutOfOffice = random.nextUnit() < 0.05
        let oooMessage =
            isOutOfOffice && random.nextUnit() < 0.85 ? random.nextIndex(PresenceCatalog.outOfOfficeMessages.count) : -1
        let location = random.nextUnit() < 0.8 ? random.nextIndex(PresenceCatalog.workLocations.count) : -1
        return UserPresence(
            pair: UInt8(pair),
            isOutOfOffice: isOutOfOffice,
            statusMessage: Int16(status),
            outOfOfficeMessage: Int16(oooMessage),
            workLocation: Int16(location),
            sequence: 0x10_0000_0000 + random.next(upperBound: firstChangeSequence - 0x10_0000_0000)
        )
    }

    /// True when every field but `sequence` is equal.
    func hasSameContent(as other: UserPresence) -> Bool {
        pair == other.pair && isOutOfOffice == other.isOutOfOffice && statusMessage == other.statusMessage
            && outOfOfficeMessage == other.outOfOfficeMessage && workLocation == other.workLocation
    }

    /// Changes the content to a different state, stamped with `sequence`.
    ///
    /// Mostly the availability/activity pair changes (60%); otherwise the status message (15%), the out-of-office
    /// settings (12%) or the work location (13%). The result always differs from the current content.
    mutating func change(using random: inout SplitMix64, sequence: UInt64) {
        let roll = random.nextUnit()
        if roll < 0.60 {
            pair = UInt8(Self.different(from: Int(pair), in: 0, PresenceCatalog.activityPairs.count, &random))
        } else if roll < 0.75 {
            let count = PresenceCatalog.statusMessages.count
            statusMessage = Int16(Self.different(from: Int(statusMessage), in: -1, count, &random))
        } else if roll < 0.87 {
            isOutOfOffice.toggle()
            let count = PresenceCatalog.outOfOfficeMessages.count
            if isOutOfOffice {
                if outOfOfficeMessage < 0 || random.nextUnit() < 0.3 {
                    outOfOfficeMessage = random.nextUnit() < 0.9 ? Int16(random.nextIndex(count)) : -1
                }
            } else if random.nextUnit() < 0.7 {
                outOfOfficeMessage = -1
            }
        } else {
            let count = PresenceCatalog.workLocations.count
            workLocation = Int16(Self.different(from: Int(workLocation), in: -1, count, &random))
        }
        self.sequence = sequence
    }

    /// A value in `lowest..<count` other than `current`, uniformly chosen (`lowest` is -1 where "none" is a choice).
    static func different(from current: Int, in lowest: Int, _ count: Int, _ random: inout SplitMix64) -> Int {
        let span = count - lowest
        let offset = 1 + random.nextIndex(span - 1)
        return (current - lowest + offset) % span + lowest
    }

    /// The public form of this state.
    var simulatedPresence: SimulatedPresence {
        let pair = PresenceCatalog.activityPairs[Int(pair)]
        return SimulatedPresence(
            availability: pair.availability,
            activity: pair.activity,
            statusMessage: statusMessage < 0 ? nil : PresenceCatalog.statusMessages[Int(statusMessage)].content,
            isOutOfOffice: isOutOfOffice,
            outOfOfficeMessage: outOfOfficeMessage < 0
                ? nil : PresenceCatalog.outOfOfficeMessages[Int(outOfOfficeMessage)],
            workLocationType: workLocation < 0 ? nil : PresenceCatalog.workLocations[Int(workLocation)].type,
            sequenceNumber: Self.sequenceText(sequence)
        )
    }

    /// `sequence` as 16 upper-case hex digits: fixed width, so string order is numeric order.
    static func sequenceText(_ sequence: UInt64) -> String {
        let digits = String(sequence, radix: 16, uppercase: true)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
