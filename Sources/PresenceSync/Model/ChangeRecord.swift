/// One recorded change: a new history row, with what it replaced. Events are built from these after commit.
public struct ChangeRecord: Sendable, Equatable {
    /// The history row's id; the event id derives from it, so redelivered events keep their id.
    public var historyID: Int64
    public var userID: String
    /// The state this change ended, nil for the first observation of the user.
    public var previous: PresenceState?
    /// Since when the previous state held.
    public var previousSince: Timestamp?
    public var current: PresenceState
    public var sequenceNumber: String?
    /// The fields that differ from `previous` (all fields for a first observation).
    public var changedFields: [PresenceField]
    /// When the new state was observed: its history row's valid_from.
    public var since: Timestamp
    /// The history row of `previous`, which this change closed; nil for a first observation, and for events that
    /// a migration from schema 8 kept without their history rows.
    public var previousHistoryID: Int64?
    /// Why the record is sent: a live change (the default), a snapshot's state or a replayed change.
    public var origin: EventOrigin
    /// When the state ended, if a later change had already closed its history row when the record was read (a
    /// backlog): the PostgreSQL mirror inserts such rows closed instead of closing them with a second write.
    public var validTo: Timestamp?

    public init(
        historyID: Int64, userID: String, previous: PresenceState?, previousSince: Timestamp?,
        current: PresenceState, sequenceNumber: String?, changedFields: [PresenceField], since: Timestamp,
        previousHistoryID: Int64? = nil, origin: EventOrigin = .live, validTo: Timestamp? = nil
    ) {
        self.validTo = validTo
        self.previousHistoryID = previousHistoryID
        self.origin = origin
        self.historyID = historyID
        self.userID = userID
        self.previous = previous
        self.previousSince = previousSince
        self.current = current
        self.sequenceNumber = sequenceNumber
        self.changedFields = changedFields
        self.since = since
    }

    /// The same change: every field but `validTo`, which only says how far the history had got when it was read.
    public static func == (lhs: ChangeRecord, rhs: ChangeRecord) -> Bool {
        lhs.historyID == rhs.historyID && lhs.userID == rhs.userID && lhs.previous == rhs.previous
            && lhs.previousSince == rhs.previousSince && lhs.current == rhs.current
            && lhs.sequenceNumber == rhs.sequenceNumber && lhs.changedFields == rhs.changedFields
            && lhs.since == rhs.since && lhs.previousHistoryID == rhs.previousHistoryID && lhs.origin == rhs.origin
    }
}

/// Counts from one poll cycle, stored in `poll_cycles` and logged.
public struct CycleSummary: Sendable, Equatable {
    public var number: Int
    public var startedAt: Timestamp
    public var finishedAt: Timestamp
    public var users: Int
    public var observed = 0
    public var changes = 0
    /// Requested users absent from Graph's answers.
    public var missing = 0
    /// Batches that failed and were skipped for this cycle (nothing written for them).
    public var failedBatches = 0
    /// Ids in answers that were not asked for, or answered twice (ignored).
    public var unexpectedIDs = 0
    /// Requests that waited for the request budget or a throttling pause.
    public var budgetWaits = 0
    /// Attempts Graph throttled (429, or 503 with Retry-After); each was retried or its batch skipped.
    public var throttled = 0
    /// Every batch was tried (the cycle was not cut short by a shutdown): every user not recorded as unobserved
    /// was observed during it, which `presence_current.last_seen` relies on.
    public var isSweep = false
    /// Presence objects that left out each field that can be left out (kept at its last known value).
    public var omissions = OmissionCounts()
    /// getPresencesByUserId requests started during the cycle, retries included.
    public var requests = 0
    /// The share of the app's request budget the cycle used (requests per second over the budget's rate); set in
    /// adaptive mode.
    public var budgetUse: Double?
    /// Seconds since the least recently observed tracked user was observed, when the cycle ended; set in adaptive
    /// mode.
    public var stalestSeconds: Double?

    public init(number: Int, startedAt: Timestamp, users: Int) {
        self.number = number
        self.startedAt = startedAt
        self.finishedAt = startedAt
        self.users = users
    }
}
