import Foundation
import GraphSimulator
import Testing

/// Shortened `getPresencesByUserId` answers: what is left out, how often, what is recorded, and that nothing else
/// changes.
@Suite("Shortened answers")
struct ShorteningTests {
    static let allFields = Set(OmittableField.allCases)
    static let completeKeys: Set<String> = [
        "id", "availability", "activity", "statusMessage", "outOfOfficeSettings", "sequenceNumber", "workLocation",
    ]

    @Test("shortened objects lack the chosen keys entirely (never null); unaffected users' objects stay complete")
    func absentNotNull() async throws {
        let shortening = AnswerShortening(
            fields: [.statusMessage, .workLocation], userFraction: 0.3, answerFraction: 1)
        try await withSimulator(.shortening(shortening, userCount: 200)) { simulator, client in
            let token = try await client.accessToken()
            let affected = Set(simulator.userIDs.filter(simulator.isAffectedByShortening))
            #expect((40...80).contains(affected.count), "about 30% of 200 users, not \(affected.count)")
            for _ in 0..<3 {
                let answer = try await client.presences(simulator.userIDs, token: token)
                #expect(answer.presences.count == 200)
                let texts = objectTexts(answer)
                for object in answer.presences {
                    let id = try #require(object["id"] as? String)
                    let text = try #require(texts[id])
                    if affected.contains(id) {
                        #expect(Set(object.keys) == Self.completeKeys.subtracting(["statusMessage", "workLocation"]))
                        #expect(!text.contains("\"statusMessage\"") && !text.contains("\"workLocation\""), "\(text)")
                    } else {
                        #expect(Set(object.keys) == Self.completeKeys)
                        #expect(text.contains("\"statusMessage\":") && text.contains("\"workLocation\":"))
                    }
                }
            }
        }
    }

    @Test("about answerFraction of an affected user's serves are shortened, and none of an unaffected user's")
    func fractions() async throws {
        let shortening = AnswerShortening(fields: [.outOfOfficeSettings], userFraction: 0.3, answerFraction: 0.2)
        try await withSimulator(.shortening(shortening, userCount: 1000)) { simulator, client in
            let token = try await client.accessToken()
            let ids = simulator.userIDs
            let affected = Set(ids.filter(simulator.isAffectedByShortening))
            #expect((240...360).contains(affected.count), "about 30% of 1000 users, not \(affected.count)")
            var affectedServes = 0
            var shortenedServes = 0
            for _ in 0..<5 {
                for start in stride(from: 0, to: ids.count, by: 500) {
                    let answer = try await client.presences(Array(ids[start..<start + 500]), token: token)
                    for object in answer.presences {
                        let shortened = object["outOfOfficeSettings"] == nil
                        if affected.contains(object["id"] as? String ?? "") {
                            affectedServes += 1
                            shortenedServes += shortened ? 1 : 0
                        } else {
                            #expect(!shortened)
                        }
                    }
                }
            }
            let fraction = Double(shortenedServes) / Double(max(1, affectedServes))
            #expect((0.15...0.25).contains(fraction), "\(shortenedServes) of \(affectedServes) serves shortened")
            let recorded = ids.flatMap(simulator.servedAnswers(for:)).filter { !$0.omittedFields.isEmpty }
            #expect(recorded.map(\.serveCount).reduce(0, +) == shortenedServes)
            #expect(simulator.statistics.shortenedObjectsServed == shortenedServes)
        }
    }

    @Test("servedAnswers records the full state and the omitted fields of each serve, as the bytes show them")
    func recordMatchesBytes() async throws {
        let shortening = AnswerShortening(fields: Self.allFields, userFraction: 0.5, answerFraction: 0.5)
        let configuration = SimulatorConfiguration.shortening(shortening, userCount: 60, changeProbability: 0.3)
        try await withSimulator(configuration) { simulator, client in
            let token = try await client.accessToken()
            let ids = simulator.userIDs
            var shortenedSeen = 0
            for serve in 1...12 {
                let answer = try await client.presences(ids, token: token)
                #expect(answer.presences.count == ids.count)
                for object in answer.presences {
                    let answers = simulator.servedAnswers(for: try #require(object["id"] as? String))
                    #expect(answers.map(\.serveCount).reduce(0, +) == serve)
                    let last = try #require(answers.last)
                    #expect(last.omittedFields == absentFields(object))
                    #expect(simulatedPresence(from: object, filling: last.presence) == last.presence)
                    shortenedSeen += last.omittedFields.isEmpty ? 0 : 1
                }
            }
            #expect(shortenedSeen > 0)
            for id in ids {
                let answers = simulator.servedAnswers(for: id)
                for (earlier, later) in zip(answers, answers.dropFirst()) {
                    #expect(earlier.presence != later.presence || earlier.omittedFields != later.omittedFields)
                }
                var states: [SimulatedPresence] = []
                for answer in answers where states.last != answer.presence { states.append(answer.presence) }
                #expect(states == simulator.servedStates(for: id), "servedStates is the record without omissions")
            }
            let remote = try await client.send("GET", "/_simulator/served-answers/\(ids[0])")
            let decoded = try JSONDecoder().decode([ServedAnswer].self, from: remote.body)
            #expect(decoded == simulator.servedAnswers(for: ids[0]))
        }
    }

    @Test("answers are byte-identical to a simulator without the setting whenever no shortening is in force")
    func offIsByteIdentical() async throws {
        // Bodies are compared as Booleans: a failure would otherwise print six answers of 100 users.
        let plain = try await Self.bodies(.testing(changeProbability: 0.3))
        let nobody = AnswerShortening(fields: Self.allFields, userFraction: 0, answerFraction: 1)
        let nobodyIsPlain = try await Self.bodies(.shortening(nobody, changeProbability: 0.3, record: false)) == plain
        #expect(nobodyIsPlain, "a shortening that affects no user changes no byte")
        let never = AnswerShortening(fields: Self.allFields, userFraction: 1, answerFraction: 0)
        let neverIsPlain = try await Self.bodies(.shortening(never, changeProbability: 0.3, record: false)) == plain
        #expect(neverIsPlain, "a shortening that never fires changes no byte")

        // In force for the first three requests, then turned off: the same states, in the same order, then the
        // same bytes.
        let heavy = AnswerShortening(fields: Self.allFields, userFraction: 0.6, answerFraction: 0.6)
        let configuration = SimulatorConfiguration.shortening(heavy, changeProbability: 0.3, record: false)
        let shortened = try await Self.bodies(configuration, turnOffAfter: 3)
        let repeatable = try await Self.bodies(configuration, turnOffAfter: 3) == shortened
        #expect(repeatable, "same configuration and requests, same bytes")
        let plainAfterDelete = shortened[3...] == plain[3...]
        #expect(plainAfterDelete, "after DELETE, the bytes of a simulator that never shortened")
        for (short, full) in zip(shortened[..<3], plain[..<3]) {
            #expect(short.count < full.count)
            let shortObjects = HTTPAnswer(status: 200, headers: [:], body: Data(short.utf8)).presences
            let fullObjects = HTTPAnswer(status: 200, headers: [:], body: Data(full.utf8)).presences
            let sameOrder = shortObjects.map { $0["id"] as? String } == fullObjects.map { $0["id"] as? String }
            #expect(sameOrder && shortObjects.count == 100, "the same users in the same order")
            for (object, expected) in zip(shortObjects, fullObjects) {
                let state = try #require(simulatedPresence(from: expected))
                #expect(simulatedPresence(from: object, filling: state) == state)
            }
        }
    }

    /// The bodies of six answers for every user (base URL replaced), shortening turned off over HTTP after
    /// `turnOffAfter` of them.
    static func bodies(_ configuration: SimulatorConfiguration, turnOffAfter: Int? = nil) async throws -> [String] {
        try await withSimulator(configuration) { simulator, client in
            let token = try await client.accessToken()
            var bodies: [String] = []
            for request in 0..<6 {
                if request == turnOffAfter {
                    #expect(try await client.send("DELETE", "/_simulator/shortening").status == 204)
                }
                let answer = try await client.presences(simulator.userIDs, token: token)
                #expect(answer.status == 200)
                bodies.append(answer.text.replacingOccurrences(of: client.baseURL, with: "BASE"))
            }
            return bodies
        }
    }
}

extension SimulatorConfiguration {
    /// A test configuration with `shortening` in force and (by default) served states recorded.
    static func shortening(
        _ shortening: AnswerShortening?, userCount: Int = 100, changeProbability: Double = 0.1, record: Bool = true
    ) -> SimulatorConfiguration {
        var configuration = SimulatorConfiguration.testing(
            userCount: userCount, changeProbability: changeProbability, recordServedStates: record)
        configuration.shortening = shortening
        return configuration
    }
}

/// The raw text of each presence object of an answer, keyed by id: the answer cut before each `{"id":"` (no value
/// in the catalog holds that text).
func objectTexts(_ answer: HTTPAnswer) -> [String: String] {
    var texts: [String: String] = [:]
    for part in answer.text.components(separatedBy: "{\"id\":\"").dropFirst() {
        texts[String(part.prefix(36))] = part
    }
    return texts
}

/// The omittable fields whose keys an object lacks (a key with a null value is present).
func absentFields(_ object: [String: Any]) -> Set<OmittableField> {
    Set(OmittableField.allCases.filter { object[$0.rawValue] == nil })
}

/// A served object read back into the public model, absent fields taken from `known`: what a client that keeps
/// the last known value of an omitted field would hold.
func simulatedPresence(from object: [String: Any], filling known: SimulatedPresence) -> SimulatedPresence? {
    var merged = object
    if merged["statusMessage"] == nil {
        merged["statusMessage"] = known.statusMessage.map { ["message": ["content": $0]] as Any } ?? NSNull()
    }
    if merged["outOfOfficeSettings"] == nil {
        merged["outOfOfficeSettings"] = [
            "isOutOfOffice": known.isOutOfOffice, "message": known.outOfOfficeMessage.map { $0 as Any } ?? NSNull(),
        ]
    }
    if merged["workLocation"] == nil {
        merged["workLocation"] = known.workLocationType.map { ["workLocationType": $0] as Any } ?? NSNull()
    }
    return simulatedPresence(from: merged)
}
