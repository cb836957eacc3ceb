import Testing

@testable import PresenceSync

@Suite("Matching Graph's answer to the requested ids: by id, never by position")
struct AnswerMatchingTests {
    static let ids = (0..<5).map { "00000000-0000-4000-8000-00000000000\($0)" }

    static func observation(_ id: String, _ availability: String = "Busy") -> PresenceObservation {
        PresenceObservation(userID: id, state: PresenceState(availability: availability, activity: availability))
    }

    @Test("an answer in request order keeps every observation")
    func inOrder() {
        let matched = PresencePoller.match(Self.ids.map { Self.observation($0) }, requested: Self.ids)
        #expect(matched.observations.map(\.userID) == Self.ids)
        #expect(matched.missing.isEmpty && matched.unexpected == 0)
    }

    @Test("a shuffled answer is matched by id, each observation keeping its own state")
    func shuffled() {
        let answer = Self.ids.reversed().map { Self.observation($0, $0 == Self.ids[0] ? "Away" : "Busy") }
        let matched = PresencePoller.match(answer, requested: Self.ids)
        #expect(Set(matched.observations.map(\.userID)) == Set(Self.ids))
        #expect(matched.observations.first { $0.userID == Self.ids[0] }?.state.availability == "Away")
        #expect(matched.missing.isEmpty && matched.unexpected == 0)
    }

    @Test("same length but one id swapped for a stranger: the stranger is unexpected, the absent user missing")
    func sameLengthWithStranger() {
        var answer = Self.ids.map { Self.observation($0) }
        answer[2] = Self.observation("ffffffff-0000-4000-8000-000000000000")
        let matched = PresencePoller.match(answer, requested: Self.ids)
        #expect(matched.observations.map(\.userID) == [Self.ids[0], Self.ids[1], Self.ids[3], Self.ids[4]])
        #expect(matched.missing == [Self.ids[2]])
        #expect(matched.unexpected == 1)
    }

    @Test("a user answered twice counts once; the second answer is unexpected")
    func duplicate() {
        var answer = Self.ids.map { Self.observation($0) }
        answer[4] = Self.observation(Self.ids[0], "Away")
        let matched = PresencePoller.match(answer, requested: Self.ids)
        #expect(matched.observations.count == 4)
        #expect(matched.observations.first { $0.userID == Self.ids[0] }?.state.availability == "Busy")
        #expect(matched.missing == [Self.ids[4]] && matched.unexpected == 1)
    }
}
