/// How the daemon decides when to observe whom (`polling.mode`).
public enum PollingMode: String, Sendable, CaseIterable {
    /// Cycles every `intervalSeconds`, each observing every tracked user once.
    case fixed
    /// A continuous stream of requests at `budgetShare` of the request budget, each carrying the users most likely
    /// to have changed, and every user at least every `maxStalenessSeconds` (see `AdaptiveScheduler`).
    case adaptive
}
