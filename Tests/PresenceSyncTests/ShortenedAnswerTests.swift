import GraphSimulator
import Logging
import PresenceSync
import TestSupport
import Testing

/// Graph may shorten presence objects: a field left out of an answer is not a change.
@Suite("Shortened answers against the simulator: omitted fields carried forward, never read as cleared", .serialized)
struct ShortenedAnswerTests {
    /// The states the daemon must have recorded for `answers`: each omitted field keeps the previous value (none
    /// before the first answer that carries it), then consecutive equal states collapse into one.
    static func expectedHistory(_ answers: [ServedAnswer]) -> [PresenceState] {
        var known: PresenceState?
        var states: [PresenceState] = []
        for answer in answers {
            var state = SimulatorSetup.state(answer.presence)
            let previous =
                known ?? PresenceState(availability: state.availability, activity: state.activity)
            if answer.omittedFields.contains(.statusMessage) { state.statusMessage = previous.statusMessage }
            if answer.omittedFields.contains(.outOfOfficeSettings) {
                state.isOutOfOffice = previous.isOutOfOffice
                state.outOfOfficeMessage = previous.outOfOfficeMessage
            }
            if answer.omittedFields.contains(.workLocation) { state.workLocationType = previous.workLocationType }
            known = state
            if states.last != state { states.append(state) }
        }
        return states
    }

    @Test("the history equals the served answers with omitted fields carried forward; no event for an omission")
    func historyCarriesOmittedFieldsForward() async throws {
        var settings = SimulatorConfiguration()
        settings.userCount = 400
        settings.changeProbability = 0.05
        settings.recordServedStates = true
        settings.seed = UInt64.random(in: 1...1_000_000)
        settings.shortening = AnswerShortening(
            fields: [.statusMessage, .outOfOfficeSettings, .workLocation], userFraction: 0.3, answerFraction: 0.3)
        let simulator = GraphSimulator(configuration: settings)
        _ = try await simulator.start()
        let directory = TemporaryDirectory()
        let database = directory.file("presence.db")
        let configuration = try SimulatorSetup.configuration(
            SimulatorSetup.document(for: simulator, settings: settings, database: database, interval: 0.1))
        let sink = CollectingSink()
        var options = Daemon.Options(maxCycles: 8, extraSink: sink)
        options.environment = [SimulatorSetup.secretVariable: settings.clientSecret]
        try await Daemon(configuration: configuration, options: options, logger: Logger(label: "test")).run()
        await simulator.stop()

        let reader = try HistoryReader(path: database)
        var rows = 0
        var shortenedServes = 0
        var naiveRows = 0
        for user in simulator.userIDs {
            let answers = simulator.servedAnswers(for: user)
            shortenedServes += answers.filter { !$0.omittedFields.isEmpty }.map(\.serveCount).reduce(0, +)
            let recorded = try reader.states(of: user)
            #expect(recorded == Self.expectedHistory(answers), "history of \(user)")
            rows += recorded.count
            // What reading an omission as "cleared" would have recorded: one more row per shortened run at least.
            naiveRows += answers.count
        }
        #expect(shortenedServes > 100, "the simulator shortened answers (\(shortenedServes) serves)")
        #expect(naiveRows > rows, "omissions would have produced rows had they been read as changes")
        #expect(sink.events.count == rows, "one event per history row, none for an omission")
        #expect(try reader.invariantViolations() == [])
    }
}
