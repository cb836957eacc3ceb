import PresenceSync
import Testing

@Suite("Differ: what counts as a change")
struct DifferTests {
    static let base = PresenceState(
        availability: "Available", activity: "Available", statusMessage: "Hi", isOutOfOffice: false,
        outOfOfficeMessage: nil, workLocationType: "office")

    static func with(_ change: (inout PresenceState) -> Void) -> PresenceState {
        var state = base
        change(&state)
        return state
    }

    @Test("a first observation reports every field")
    func firstObservation() {
        #expect(Differ.changedFields(from: nil, to: Self.base) == PresenceField.allCases)
    }

    @Test("an identical state is no change")
    func identical() {
        #expect(Differ.changedFields(from: Self.base, to: Self.base).isEmpty)
    }

    @Test(
        "each compared field is detected on its own",
        arguments: [
            (with { $0.availability = "Busy" }, [PresenceField.availability]),
            (with { $0.activity = "InAMeeting" }, [.activity]),
            (with { $0.statusMessage = "Bye" }, [.statusMessage]),
            (with { $0.statusMessage = nil }, [.statusMessage]),
            (with { $0.isOutOfOffice = true }, [.isOutOfOffice]),
            (with { $0.outOfOfficeMessage = "On leave" }, [.outOfOfficeMessage]),
            (with { $0.workLocationType = "remote" }, [.workLocationType]),
            (
                with {
                    $0.availability = "Busy"
                    $0.activity = "InACall"
                }, [.availability, .activity]
            ),
        ]
    )
    func singleField(state: PresenceState, expected: [PresenceField]) {
        #expect(Differ.changedFields(from: Self.base, to: state) == expected)
    }

    @Test("a sequenceNumber-only change is not a change")
    func sequenceOnly() {
        let before = PresenceObservation(userID: "u", state: Self.base, sequenceNumber: "A1")
        let after = PresenceObservation(userID: "u", state: Self.base, sequenceNumber: "A2")
        #expect(Differ.changedFields(from: before.state, to: after.state).isEmpty)
    }

    @Test("an empty status or out-of-office message is the same as none")
    func emptyMessages() {
        let empty = PresenceState(
            availability: "Available", activity: "Available", statusMessage: "", isOutOfOffice: false,
            outOfOfficeMessage: "", workLocationType: "")
        let none = PresenceState(availability: "Available", activity: "Available")
        #expect(Differ.changedFields(from: none, to: empty).isEmpty)
    }

    @Test("unknown availability values are kept as sent and compared as strings")
    func unknownValues() {
        let novel = Self.with { $0.availability = "FocusMode" }
        #expect(Differ.changedFields(from: Self.base, to: novel) == [.availability])
    }
}
