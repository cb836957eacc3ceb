import SQLite

/// The codes of the compact rows: words (availability, activity, work location) and messages (status and
/// out-of-office) by integer code, so that a history row holds a byte or two where the text held dozens.
///
/// Words are few (Graph's vocabulary, plus whatever new word it sends, which gets a new code), so all of them stay
/// in memory. Messages can be many, so only the recently used ones are cached (at most `messageCacheLimit`; the
/// rest are a lookup in `messages`' unique index away). Codes created in a transaction that rolls back are
/// forgotten with it (`rollback`), so the caches never hold a code the file does not.
///
/// Used only on the store's queue.
struct Vocabulary {
    static let messageCacheLimit = 4_096

    private var wordCodes: [String: Int64] = [:]
    private var words: [Int64: String] = [:]
    private var messageCodes: [String: Int64] = [:]
    private var messages: [Int64: String] = [:]
    /// Codes created since the last `commit`: undone by `rollback`.
    private var created: [(isWord: Bool, text: String, code: Int64)] = []

    /// Loads every word.
    init(_ db: Connection) throws {
        try db.prepare("SELECT code, word FROM words").query { row in
            let word = row.text(1) ?? ""
            wordCodes[word] = row.int64(0)
            words[row.int64(0)] = word
        }
    }

    /// The code of `word`, created if new.
    mutating func code(word: String, _ db: Connection) throws -> Int64 {
        if let code = wordCodes[word] { return code }
        try db.cachedStatement("INSERT INTO words (word) VALUES (?1)").execute([.text(word)])
        let code = db.lastInsertRowID
        wordCodes[word] = code
        words[code] = word
        created.append((true, word, code))
        return code
    }

    /// The code of an optional word (nil stays nil).
    mutating func code(optionalWord word: String?, _ db: Connection) throws -> Int64? {
        guard let word else { return nil }
        return try code(word: word, db)
    }

    /// The word of `code` ("" for a code the file does not have, which a foreign key would have refused).
    func word(_ code: Int64) -> String { words[code] ?? "" }

    /// The code of a message, created if new; nil for no message.
    mutating func code(message: String?, _ db: Connection) throws -> Int64? {
        guard let message else { return nil }
        if let code = messageCodes[message] { return code }
        let select = try db.cachedStatement("SELECT code FROM messages WHERE text = ?1")
        let code: Int64
        if let stored = try select.queryOne([.text(message)], { $0.int64(0) }) {
            code = stored
        } else {
            try db.cachedStatement("INSERT INTO messages (text) VALUES (?1)").execute([.text(message)])
            code = db.lastInsertRowID
            created.append((false, message, code))
        }
        cache(message: message, code: code)
        return code
    }

    /// The text of message `code`; nil for no message.
    mutating func message(_ code: Int64?, _ db: Connection) throws -> String? {
        guard let code else { return nil }
        if let text = messages[code] { return text }
        let text = try db.cachedStatement("SELECT text FROM messages WHERE code = ?1").queryOne([.integer(code)]) {
            $0.text(0)
        }
        guard let text, let text else { return nil }
        cache(message: text, code: code)
        return text
    }

    private mutating func cache(message: String, code: Int64) {
        if messages.count >= Self.messageCacheLimit {
            messages.removeAll(keepingCapacity: true)
            messageCodes.removeAll(keepingCapacity: true)
        }
        messages[code] = message
        messageCodes[message] = code
    }

    /// The transaction that created the latest codes committed: they are in the file for good.
    mutating func commit() { created.removeAll(keepingCapacity: true) }

    /// The transaction rolled back: forgets the codes it created.
    mutating func rollback() {
        for (isWord, text, code) in created {
            if isWord {
                wordCodes[text] = nil
                words[code] = nil
            } else {
                messageCodes[text] = nil
                messages[code] = nil
            }
        }
        created.removeAll(keepingCapacity: true)
    }

    /// A state as codes, creating codes for new words and messages.
    mutating func codes(_ state: PresenceState, _ db: Connection) throws -> StateCodes {
        StateCodes(
            availability: try code(word: state.availability, db), activity: try code(word: state.activity, db),
            statusMessage: try code(message: state.statusMessage, db), isOutOfOffice: state.isOutOfOffice,
            outOfOfficeMessage: try code(message: state.outOfOfficeMessage, db),
            workLocation: try code(optionalWord: state.workLocationType, db))
    }

    /// The state that `codes` stand for.
    mutating func state(_ codes: StateCodes, _ db: Connection) throws -> PresenceState {
        PresenceState(
            availability: word(codes.availability), activity: word(codes.activity),
            statusMessage: try message(codes.statusMessage, db), isOutOfOffice: codes.isOutOfOffice,
            outOfOfficeMessage: try message(codes.outOfOfficeMessage, db),
            workLocationType: codes.workLocation.map(word))
    }
}

/// A `PresenceState` as the codes a compact row stores: two states are equal exactly when their codes are.
struct StateCodes: Equatable {
    var availability: Int64
    var activity: Int64
    var statusMessage: Int64?
    var isOutOfOffice: Bool
    var outOfOfficeMessage: Int64?
    var workLocation: Int64?

    /// The six state columns, in this order, as `history` and `current` name them.
    static let columnNames = [
        "availability", "activity", "status_message", "out_of_office", "out_of_office_message", "work_location",
    ]
    static let columns = columnNames.joined(separator: ", ")

    /// Reads the codes from six consecutive columns starting at `first`.
    init(_ row: Row, from first: Int32) {
        availability = row.int64(first)
        activity = row.int64(first + 1)
        statusMessage = row.isNull(first + 2) ? nil : row.int64(first + 2)
        isOutOfOffice = row.bool(first + 3)
        outOfOfficeMessage = row.isNull(first + 4) ? nil : row.int64(first + 4)
        workLocation = row.isNull(first + 5) ? nil : row.int64(first + 5)
    }

    init(
        availability: Int64, activity: Int64, statusMessage: Int64?, isOutOfOffice: Bool, outOfOfficeMessage: Int64?,
        workLocation: Int64?
    ) {
        self.availability = availability
        self.activity = activity
        self.statusMessage = statusMessage
        self.isOutOfOffice = isOutOfOffice
        self.outOfOfficeMessage = outOfOfficeMessage
        self.workLocation = workLocation
    }

    /// Binds the codes to six consecutive parameters starting at `first`.
    func bind(to statement: Statement, from first: Int32) throws {
        try statement.bind(availability, at: first)
        try statement.bind(activity, at: first + 1)
        try statement.bind(statusMessage, at: first + 2)
        try statement.bind(isOutOfOffice, at: first + 3)
        try statement.bind(outOfOfficeMessage, at: first + 4)
        try statement.bind(workLocation, at: first + 5)
    }
}
