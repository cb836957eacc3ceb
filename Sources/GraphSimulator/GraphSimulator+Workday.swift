extension GraphSimulator {
    /// The simulated time now, in seconds after local midnight of the first day (so 36,000 is 10:00 on the first day
    /// and 122,400 is 10:00 on the second); nil unless presence follows a ``WorkdaySimulation``.
    public var simulatedTime: Double? {
        tenant.withWorkday { $0.now().simulated }
    }

    /// Every real change so far (up to `upToMilliseconds`, Unix time in milliseconds, when given), ordered by time
    /// and then by user; empty unless presence follows a ``WorkdaySimulation`` with `recordChanges` on.
    ///
    /// First advances every user to now, so that changes of users nobody served or read are included. Each change's
    /// time is when it happened in compressed time, not when it was computed. Builds strings for each change: call it
    /// once at the end of a benchmark, not per request.
    public func realChanges(upToMilliseconds: Int64? = nil) -> [RealPresenceChange] {
        // A copy (sharing storage) of the advanced timelines: strings are built outside the tenant's lock.
        let advanced = tenant.withWorkday { timeline in
            timeline.advanceAll(to: timeline.now())
            return timeline
        }
        guard let advanced else { return [] }
        return publicChanges(advanced.changes, of: advanced, upTo: upToMilliseconds)
    }

    /// The real changes of one user so far, oldest first; empty for an unknown user, or unless presence follows a
    /// ``WorkdaySimulation`` with `recordChanges` on. Advances that user to now first.
    public func realChanges(for userID: String) -> [RealPresenceChange] {
        guard let index = tenant.directory.index(of: userID) else { return [] }
        let advanced = tenant.withWorkday { timeline in
            _ = timeline.presence(of: index, at: timeline.now())
            return timeline
        }
        guard let advanced else { return [] }
        return publicChanges(advanced.changes.filter { $0.user == Int32(index) }, of: advanced, upTo: nil)
    }

    /// The user left unserved longest by `getPresencesByUserId` so far and for how many real seconds: the longest of
    /// the times from the simulator's creation to a user's first serve, between two serves and from the last serve
    /// to now. Nil unless presence follows a ``WorkdaySimulation`` with `recordChanges` on (or without users).
    public func longestUnservedGap() -> (userID: String, seconds: Double)? {
        let longest = tenant.withWorkday { $0.longestUnservedGap(at: $0.now()) } ?? nil
        return longest.map { (tenant.directory.ids[$0.index], $0.seconds) }
    }

    /// Forgets the longest gaps measured so far, so that ``longestUnservedGap()`` covers only what follows (a gap going
    /// on now still counts from the user's last serve, or from creation for a user never served). For a benchmark
    /// that should not count the daemon's start-up.
    public func resetUnservedGaps() {
        _ = tenant.withWorkday { $0.resetGaps() }
    }

    /// The longest one user went unserved so far, in real seconds (see ``longestUnservedGap()``); nil for an
    /// unknown user or unless presence follows a ``WorkdaySimulation`` with `recordChanges` on.
    public func unservedGap(for userID: String) -> Double? {
        guard let index = tenant.directory.index(of: userID) else { return nil }
        return tenant.withWorkday { $0.unservedGap(of: index, at: $0.now()) } ?? nil
    }

    /// `changes` in their public form, up to `limit` milliseconds when given, ordered by time and then user.
    private func publicChanges(
        _ changes: [WorkdayTimeline.RecordedChange], of timeline: WorkdayTimeline, upTo limit: Int64?
    ) -> [RealPresenceChange] {
        let ids = tenant.directory.ids
        var result: [RealPresenceChange] = []
        for change in changes.sorted(by: { ($0.time, $0.user) < ($1.time, $1.user) }) {
            let milliseconds = timeline.milliseconds(at: change.time)
            if let limit, milliseconds > limit { break }
            result.append(
                RealPresenceChange(
                    userID: ids[Int(change.user)], atMilliseconds: milliseconds, simulatedTime: change.time,
                    presence: change.presence.simulatedPresence))
        }
        return result
    }
}
