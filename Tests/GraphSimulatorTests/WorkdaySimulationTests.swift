import Foundation
import GraphSimulator
import Synchronization
import Testing

/// A wall clock the test moves by hand: hours of simulated time pass without waiting.
final class HandClock: Sendable {
    private let seconds = Mutex(1_800_000_000.0)

    /// Seconds since 1970.
    var now: Double { seconds.withLock { $0 } }

    func advance(by interval: Double) {
        seconds.withLock { $0 += interval }
    }
}

extension SimulatorConfiguration {
    /// A workday tenant of `userCount` users on `clock`, an hour of simulated time per second of it.
    static func workday(
        userCount: Int, clock: HandClock, startTimeOfDay: Double = 8.75 * 3600, seed: UInt64 = 42
    ) -> SimulatorConfiguration {
        var configuration = SimulatorConfiguration.testing(userCount: userCount)
        configuration.seed = seed
        configuration.workday = WorkdaySimulation(
            timeCompression: 3600, startTimeOfDay: startTimeOfDay, clock: { clock.now })
        return configuration
    }
}

@Suite("Working-day presence in compressed time")
struct WorkdaySimulationTests {
    private static let hour = 3600.0

    @Test("the same seed gives the same timeline, however often and in whatever order users are looked at")
    func sameSeedSameTimeline() {
        let clock = HandClock()
        let looked = GraphSimulator(configuration: .workday(userCount: 300, clock: clock), logger: quietLogger)
        let unlooked = GraphSimulator(configuration: .workday(userCount: 300, clock: clock), logger: quietLogger)
        let other = GraphSimulator(configuration: .workday(userCount: 300, clock: clock, seed: 43), logger: quietLogger)
        for _ in 0..<8 {
            clock.advance(by: 0.25)
            for id in looked.userIDs.reversed() { _ = looked.currentState(for: id) }
        }
        let changes = looked.realChanges()
        #expect(changes.count > 1000)
        #expect(changes.map(\.presence) == unlooked.realChanges().map(\.presence))
        #expect(changes.map(\.simulatedTime) == unlooked.realChanges().map(\.simulatedTime))
        #expect(other.realChanges().map(\.simulatedTime) != changes.map(\.simulatedTime))
    }

    @Test("some users change every few minutes and others a few times a day")
    func changeCountsSpread() {
        let clock = HandClock()
        let simulator = GraphSimulator(
            configuration: .workday(userCount: 2000, clock: clock, startTimeOfDay: 9.75 * Self.hour),
            logger: quietLogger)
        let outOfOffice = Set(simulator.userIDs.filter { simulator.currentState(for: $0)?.isOutOfOffice == true })
        clock.advance(by: 6.25)  // 09:45 to 16:00: everybody is at work
        var counts = Dictionary(uniqueKeysWithValues: simulator.userIDs.map { ($0, 0) })
        for change in simulator.realChanges() { counts[change.userID, default: 0] += 1 }
        let perHour = counts.filter { !outOfOffice.contains($0.key) }.values.map { Double($0) / 6.25 }.sorted()
        let median = perHour[perHour.count / 2]
        let tenth = perHour[perHour.count / 10]
        let ninetieth = perHour[perHour.count * 9 / 10]
        #expect((3...9).contains(median), "median \(median) changes per hour")
        #expect(ninetieth >= 5 * tenth, "p10 \(tenth), p90 \(ninetieth)")
        #expect(perHour.last! >= 30, "the busiest user changes every two minutes or more often")
        #expect(perHour.first! <= 1.5, "the calmest user changes hardly at all")
    }

    @Test("nobody changes at night; those at work arrive between 07:50 and 09:40")
    func quietNights() {
        let clock = HandClock()
        let simulator = GraphSimulator(
            configuration: .workday(userCount: 1000, clock: clock, startTimeOfDay: 23 * Self.hour),
            logger: quietLogger)
        clock.advance(by: 7.5)  // to 06:30 of the next day
        #expect(simulator.realChanges().isEmpty)
        for id in simulator.userIDs {
            #expect(simulator.currentState(for: id)?.availability == "Offline")
        }
        clock.advance(by: 3.5)  // to 10:00
        let changes = simulator.realChanges()
        #expect(changes.count > 1000)
        let arrivals = changes.filter { !$0.presence.isOutOfOffice }
        let firstOfDay = Dictionary(arrivals.map { ($0.userID, $0.simulatedTime) }, uniquingKeysWith: min)
        #expect(firstOfDay.count > 900)
        for time in firstOfDay.values {
            #expect(((24 + 7.83) * Self.hour...(24 + 9.67) * Self.hour).contains(time))
        }
    }

    @Test("meetings are joined within a minute before or two minutes after the hour or half hour")
    func meetingsOnTheHourAndHalfHour() {
        let clock = HandClock()
        let simulator = GraphSimulator(configuration: .workday(userCount: 1000, clock: clock), logger: quietLogger)
        clock.advance(by: 1.25 + 5.0 / 60)  // to 10:05
        let inMeetings = simulator.userIDs.filter { simulator.currentState(for: $0)?.activity == "InAMeeting" }.count
        #expect((100...450).contains(inMeetings), "\(inMeetings) of 1000 users in a meeting at 10:05")
        clock.advance(by: 7)
        let joins = simulator.realChanges().filter { $0.presence.activity == "InAMeeting" }
        #expect(joins.count > 2000)
        for join in joins {
            let offset = join.simulatedTime - (join.simulatedTime / 1800).rounded() * 1800
            #expect((-60...120).contains(offset), "joined at \(join.simulatedTime)")
        }
    }

    @Test("changes of users nobody served are recorded, at increasing times within the run, each a real change")
    func unservedChangesRecorded() async throws {
        let clock = HandClock()
        try await withSimulator(.workday(userCount: 200, clock: clock)) { simulator, client in
            let startMilliseconds = Int64(clock.now * 1000)
            var previous = Dictionary(
                uniqueKeysWithValues: simulator.userIDs.map { ($0, simulator.currentState(for: $0)!) })
            let served = Array(simulator.userIDs.prefix(10))
            let token = try await client.accessToken()
            for _ in 0..<4 {
                clock.advance(by: 0.5)
                _ = try await client.presences(served, token: token)
            }
            let changes = simulator.realChanges()
            #expect(Set(changes.map(\.userID)).subtracting(served).count > 150)
            var lastTime: [String: Double] = [:]
            for change in changes {
                #expect((startMilliseconds...Int64(clock.now * 1000)).contains(change.atMilliseconds))
                #expect(change.simulatedTime > lastTime[change.userID] ?? 0)
                lastTime[change.userID] = change.simulatedTime
                let before = try #require(previous[change.userID])
                #expect(!change.presence.hasSameContent(as: before))
                #expect(change.presence.sequenceNumber > before.sequenceNumber)
                previous[change.userID] = change.presence
            }
            for id in simulator.userIDs {
                #expect(simulator.currentState(for: id) == previous[id], "the last change is the current state")
                #expect(simulator.realChanges(for: id) == changes.filter { $0.userID == id })
            }
        }
    }

    @Test("every serve shows the state the timeline had at that moment")
    func servedStatesAreCurrent() async throws {
        let clock = HandClock()
        try await withSimulator(.workday(userCount: 300, clock: clock)) { simulator, client in
            let initial = Dictionary(
                uniqueKeysWithValues: simulator.userIDs.map { ($0, simulator.currentState(for: $0)!) })
            let token = try await client.accessToken()
            var serves: [(time: Double, presences: [String: SimulatedPresence])] = []
            for step in 0..<6 {
                clock.advance(by: 0.1 + 0.37 * Double(step))
                let answer = presencesByID(try await client.presences(simulator.userIDs, token: token))
                serves.append((try #require(simulator.simulatedTime), answer))
            }
            let changes = simulator.realChanges()
            for (time, presences) in serves {
                #expect(presences.count == 300)
                for (id, served) in presences {
                    let expected = changes.last { $0.userID == id && $0.simulatedTime <= time }?.presence ?? initial[id]
                    #expect(served == expected, "user \(id) at \(time)")
                }
            }
        }
    }

    @Test("about 3% of users are out of office, and they change a few times a day at most")
    func outOfOfficeUsersChangeRarely() {
        let clock = HandClock()
        let simulator = GraphSimulator(configuration: .workday(userCount: 3000, clock: clock), logger: quietLogger)
        let absent = Set(simulator.userIDs.filter { simulator.currentState(for: $0)?.isOutOfOffice == true })
        #expect((30...180).contains(absent.count))
        clock.advance(by: 10)  // to 18:45
        let changes = simulator.realChanges()
        var counts: [String: Int] = [:]
        for change in changes where absent.contains(change.userID) {
            counts[change.userID, default: 0] += 1
            #expect(change.presence.isOutOfOffice)
            #expect(change.presence.activity == "OutOfOffice")
        }
        #expect(counts.values.allSatisfy { $0 <= 8 })
        let absentMean = Double(counts.values.reduce(0, +)) / Double(absent.count)
        let presentMean = Double(changes.count - counts.values.reduce(0, +)) / Double(3000 - absent.count)
        #expect(absentMean * 20 < presentMean, "\(absentMean) against \(presentMean) changes a day")
        #expect(changes.allSatisfy { absent.contains($0.userID) || !$0.presence.isOutOfOffice })
    }

    @Test("the longest time a user went unserved counts from creation, between serves and until now")
    func unservedGaps() async throws {
        let clock = HandClock()
        try await withSimulator(.workday(userCount: 3, clock: clock)) { simulator, client in
            let ids = simulator.userIDs
            let token = try await client.accessToken()
            clock.advance(by: 1)
            _ = try await client.presences([ids[0]], token: token)
            clock.advance(by: 2)
            _ = try await client.presences([ids[0], ids[1]], token: token)
            clock.advance(by: 4)
            #expect(simulator.unservedGap(for: ids[0]) == 4)
            #expect(simulator.unservedGap(for: ids[1]) == 4)
            #expect(simulator.unservedGap(for: ids[2]) == 7)
            #expect(simulator.longestUnservedGap()?.userID == ids[2])
            #expect(simulator.longestUnservedGap()?.seconds == 7)
            _ = try await client.presences(ids, token: token)
            clock.advance(by: 0.5)
            #expect(simulator.unservedGap(for: ids[0]) == 4)
            #expect(simulator.longestUnservedGap()?.seconds == 7)
            simulator.resetUnservedGaps()
            #expect(simulator.longestUnservedGap()?.seconds == 0.5, "only the gaps going on now")
            clock.advance(by: 1)
            _ = try await client.presences([ids[0]], token: token)
            #expect(simulator.unservedGap(for: ids[0]) == 1.5)
            #expect(simulator.longestUnservedGap()?.seconds == 1.5)
        }
        let perServe = GraphSimulator(configuration: .testing(), logger: quietLogger)
        #expect(perServe.longestUnservedGap() == nil)
        #expect(perServe.realChanges().isEmpty)
        #expect(perServe.simulatedTime == nil)
    }

    @Test("presence written through the API wins over the timeline, and sequence numbers keep growing")
    func overridesOnTop() async throws {
        let clock = HandClock()
        try await withSimulator(.workday(userCount: 50, clock: clock)) { simulator, client in
            let token = try await client.accessToken()
            let id = try #require(
                simulator.userIDs.max { simulator.realChanges(for: $0).count < simulator.realChanges(for: $1).count })
            var last = ""
            func serve() async throws -> SimulatedPresence {
                let served = try #require(presencesByID(try await client.presences([id], token: token))[id])
                #expect(served.sequenceNumber >= last)
                last = served.sequenceNumber
                return served
            }
            _ = try await serve()
            let set = try await PresenceAPIEndpointTests.post(
                client, id, "setUserPreferredPresence", ["availability": "Offline", "activity": "OffWork"], token: token
            )
            #expect(set.status == 200)
            for _ in 0..<5 {
                clock.advance(by: 0.2)
                #expect(try await serve().activity == "OffWork")
            }
            _ = try await PresenceAPIEndpointTests.post(client, id, "clearUserPreferredPresence", [:], token: token)
            let after = try await serve()
            let walk = try #require(simulator.realChanges(for: id).last?.presence)
            #expect(after.hasSameContent(as: walk))
            clock.advance(by: 1)
            _ = try await serve()
        }
    }
}
