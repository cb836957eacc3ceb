import Logging
import NIOCore
import TestSupport
import Testing

@testable import PresenceSync

@Suite("Matching Graph's answer to the requested ids: by id, never by position; only differing answers decoded")
struct AnswerMatchingTests {
    static let ids = (0..<5).map { "00000000-0000-4000-8000-00000000000\($0)" }

    static func object(_ id: String, _ availability: String = "Busy") -> String {
        #"{"id":"\#(id)","availability":"\#(availability)","activity":"\#(availability)"}"#
    }

    static func answer(_ objects: [String]) -> RawPresenceAnswer {
        RawPresenceAnswer(body: ByteBuffer(string: #"{"value":[\#(objects.joined(separator: ","))]}"#), requestID: "r")
    }

    /// Sorts `objects` against `ids` with a fresh store (which knows no fingerprint: every user differs).
    static func sort(_ objects: [String], store: PresenceStore? = nil) throws -> PresencePoller.SortedAnswer {
        let directory = TemporaryDirectory()
        let store = try store ?? PresenceStore(path: directory.file("p.db"), logger: Logger(label: "test"))
        return try PresencePoller.sort(answer(objects), requested: ids, store: store)
    }

    @Test("an answer in request order keeps every observation")
    func inOrder() throws {
        let sorted = try Self.sort(Self.ids.map { Self.object($0) })
        #expect(sorted.changed.map(\.userID) == Self.ids)
        #expect(sorted.observed == 5 && sorted.missing.isEmpty && sorted.unexpected == 0)
    }

    @Test("a shuffled answer is matched by id, each observation keeping its own state")
    func shuffled() throws {
        let sorted = try Self.sort(Self.ids.reversed().map { Self.object($0, $0 == Self.ids[0] ? "Away" : "Busy") })
        #expect(Set(sorted.changed.map(\.userID)) == Set(Self.ids))
        #expect(sorted.changed.first { $0.userID == Self.ids[0] }?.state.availability == "Away")
        #expect(sorted.missing.isEmpty && sorted.unexpected == 0)
    }

    @Test("ids in upper case match, and the observation carries the requested spelling")
    func upperCaseIDs() throws {
        let sorted = try Self.sort(Self.ids.map { Self.object($0.uppercased()) })
        #expect(sorted.changed.map(\.userID) == Self.ids && sorted.unexpected == 0)
    }

    @Test("same length but one id swapped for a stranger: the stranger is unexpected, the absent user missing")
    func sameLengthWithStranger() throws {
        var objects = Self.ids.map { Self.object($0) }
        objects[2] = Self.object("ffffffff-0000-4000-8000-000000000000")
        let sorted = try Self.sort(objects)
        #expect(sorted.changed.map(\.userID) == [Self.ids[0], Self.ids[1], Self.ids[3], Self.ids[4]])
        #expect(sorted.missing == [Self.ids[2]])
        #expect(sorted.unexpected == 1)
    }

    @Test("ids that are not GUIDs (braces, too short, not hex) are unexpected, never a crash")
    func malformedIDs() throws {
        var objects = Self.ids.map { Self.object($0) }
        objects[1] = Self.object("{\(Self.ids[1])}")
        objects[2] = Self.object("00000000-0000-4000-8000-0000000000")
        objects[3] = Self.object("0000000g-0000-4000-8000-000000000003")
        let sorted = try Self.sort(objects)
        #expect(sorted.unexpected == 3 && sorted.missing == [Self.ids[1], Self.ids[2], Self.ids[3]])
    }

    @Test("a user answered twice counts once; the second answer is unexpected")
    func duplicate() throws {
        var objects = Self.ids.map { Self.object($0) }
        objects[4] = Self.object(Self.ids[0], "Away")
        let sorted = try Self.sort(objects)
        #expect(sorted.changed.count == 4)
        #expect(sorted.changed.first { $0.userID == Self.ids[0] }?.state.availability == "Busy")
        #expect(sorted.missing == [Self.ids[4]] && sorted.unexpected == 1)
    }

    @Test("once the store recorded an answer, the same answer is observed but not decoded again; a change is")
    func unchangedAnswersAreSkipped() async throws {
        let directory = TemporaryDirectory()
        let store = try PresenceStore(path: directory.file("p.db"), logger: Logger(label: "test"))
        let first = try Self.sort(Self.ids.map { Self.object($0) }, store: store)
        _ = try await store.record(first.changed, observedAt: .now())
        let again = try Self.sort(Self.ids.reversed().map { Self.object($0) }, store: store)
        #expect(again.observed == 5 && again.changed.isEmpty)
        var objects = Self.ids.map { Self.object($0) }
        objects[3] = Self.object(Self.ids[3], "Away")
        let changed = try Self.sort(objects, store: store)
        #expect(changed.observed == 5 && changed.changed.map(\.userID) == [Self.ids[3]])
        await store.close()
    }

    @Test("a malformed answer is refused whole, naming where")
    func malformed() throws {
        var objects = Self.ids.map { Self.object($0) }
        objects[4] = #"{"id":"\#(Self.ids[4])","activity":"Busy"}"#
        #expect(throws: GraphError.self) { try Self.sort(objects) }
        do {
            _ = try Self.sort(objects)
        } catch {
            #expect("\(error)".contains("value[4].availability"))
        }
    }
}
