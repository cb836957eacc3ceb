import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// Mirrors the history into a PostgreSQL database: an outbox reader like a webhook endpoint, with its own cursor,
/// backlog, retries and metrics.
///
/// It reads pages of changes after its cursor (never the whole backlog), writes each page in one transaction
/// (`PostgresMirrorBatch`, idempotent), and only then moves its cursor forward; a crash or a failed commit sends
/// the page again, and the rows already there are left as they are. A failure of any kind (server down, wrong
/// password, missing permission, a schema that is not ours) is logged with the mirror's name and the cause, and
/// retried with backoff on a new connection; the backlog waits in the SQLite history meanwhile, and polling and
/// the other sinks are never held back (each reader runs on its own).
public final class PostgresMirror: Sendable {
    public let settings: PostgresMirrorSettings
    private let store: any EventLog
    private let tenantID: String
    private let environment: [String: String]
    private let logger: Logger
    private let recorder: (any DeliveryRecorder)?
    private let wake = WakeSignal()
    private let cursor: SinkCursor
    private let backoff: Backoff

    /// How often the history is looked at when nobody signals.
    static let idleRecheck = Duration.seconds(1)
    /// How long the written cursor may lag behind the rows committed in PostgreSQL (a crash re-sends that many).
    static let cursorWriteInterval = Duration.milliseconds(500)

    /// - Parameter tenantID: put on every row, so several tenants can share one database.
    public init(
        settings: PostgresMirrorSettings, store: any EventLog, tenantID: String, environment: [String: String],
        logger: Logger, recorder: (any DeliveryRecorder)? = nil
    ) {
        self.settings = settings
        self.store = store
        self.tenantID = tenantID
        self.environment = environment
        self.recorder = recorder
        var tagged = logger
        tagged[metadataKey: "sink"] = "\(settings.cursorName)"
        self.logger = tagged
        let logger = tagged
        self.cursor = SinkCursor(sink: settings.cursorName, store: store, writeInterval: Self.cursorWriteInterval) {
            () async throws(StoreError) -> Int64 in
            let start = try await store.startOutboxCursor(sink: settings.cursorName, from: settings.startFrom)
            start.log(sink: settings.cursorName, logger)
            return start.cursor
        }
        self.backoff = Backoff(
            initial: .milliseconds(Int64(settings.retryInitialSeconds * 1000)),
            maximum: .milliseconds(Int64(settings.retryMaxSeconds * 1000)))
    }

    /// The cursor name in `outbox_cursors`.
    public var name: String { settings.cursorName }

    /// New changes were committed.
    public func notify() { wake.signal() }

    /// Mirrors until cancelled, reconnecting with backoff after every failure; saves the cursor when it stops.
    public func run() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await mirror { failures = 0 }
            } catch {
                guard !Task.isCancelled else { break }
                failures += 1
                let wait = backoff.wait(attempt: failures, jitter: Double.random(in: 0...1), retryAfter: nil)
                logger.error(
                    "PostgreSQL mirror failed; changes wait in the history and are sent when it is back",
                    metadata: [
                        "url": "\(settings.url)", "error": "\(PostgresMirrorFailure.describe(error, settings))",
                        "attempt": "\(failures)", "retry_in": "\(wait)",
                    ])
                recorder?.postgresMirrorFailed(sink: settings.name)
                try? await Task.sleep(for: wait)
            }
        }
        do {
            try await cursor.write(force: true)
        } catch {
            logger.error("saving the cursor failed", metadata: ["error": "\(error)"])
        }
    }

    /// One connection's life: connect, check the schema, then write pages until cancelled or a failure.
    /// `connected` runs once the schema is ready (the failure count starts again).
    private func mirror(connected: () -> Void) async throws {
        let connection = try await connect()
        do {
            let schema = PostgresMirrorSchema(name: settings.schema)
            let batch = PostgresMirrorBatch(schema: schema, tenantID: tenantID, storeInstance: store.instanceID)
            let logger = self.logger
            try await Self.unlessClosed(connection) {
                try await schema.prepare(connection, logger: logger)
                try await batch.prepare(connection, logger: logger)
            }
            connected()
            logger.info(
                "mirroring to PostgreSQL", metadata: ["url": "\(settings.url)", "schema": "\(settings.schema)"])
            while !Task.isCancelled {
                // postgres-nio 1.33 never answers a query written to a closed connection (the write fails with no
                // one to tell): look first, and reconnect through the failure path.
                guard !connection.isClosed else {
                    throw PostgresMirrorFailure(description: "the server closed the connection")
                }
                if try await writePage(batch, connection) == 0 { await wake.wait(timeout: Self.idleRecheck) }
            }
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    /// Writes the next page: of a snapshot while one is due (live changes wait behind it, as the snapshot's rows
    /// are the state they change), else of a replay and of the live changes in turn; returns how many rows it held.
    private func writePage(_ batch: PostgresMirrorBatch, _ connection: PostgresConnection) async throws -> Int {
        let backfill = try await cursor.deliverBackfillPage(limit: settings.maxBatchEvents, logger: logger) {
            records in
            try await write(records, batch, connection)
        }
        let backfilled = backfill.records.map { max(1, $0) } ?? 0
        if backfill.holdsLive { return backfilled }
        let records = try await store.outboxEvents(after: try await cursor.delivered(), limit: settings.maxBatchEvents)
        guard let last = records.last else {
            try await cursor.write(force: false)
            return backfilled
        }
        try await write(records, batch, connection)
        try await cursor.advance(to: last.historyID)
        return backfilled + records.count
    }

    private func write(
        _ records: [ChangeRecord], _ batch: PostgresMirrorBatch, _ connection: PostgresConnection
    ) async throws {
        let logger = self.logger
        try await Self.unlessClosed(connection) { try await batch.write(records, connection, logger: logger) }
        recorder?.postgresMirrorWrote(sink: settings.name, changes: records.count)
    }

    /// Runs `body` on `connection`, and fails as soon as the connection closes, whatever `body` is waiting for.
    ///
    /// postgres-nio 1.33 never answers a query written to a connection that has just closed (the server stopped,
    /// the network dropped): the write fails on the event loop with no one to tell, and the query's promise is
    /// left pending. A transaction is several queries, so a close between two of them would hang the mirror (and
    /// the daemon's shutdown with it). The body runs in a task of its own; the connection's `closeFuture` ends the
    /// wait instead, and the stranded task is left to the closed connection (one per outage, holding nothing).
    static func unlessClosed(
        _ connection: PostgresConnection, _ body: @escaping @Sendable () async throws -> Void
    ) async throws {
        let finished = Finished()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Task {
                do {
                    try await body()
                    if finished.claim() { continuation.resume() }
                } catch {
                    if finished.claim() { continuation.resume(throwing: error) }
                }
            }
            connection.closeFuture.whenComplete { _ in
                if finished.claim() {
                    continuation.resume(
                        throwing: PostgresMirrorFailure(description: "the server closed the connection"))
                }
            }
        }
    }

    /// Lets exactly one of two racers resume a continuation.
    private final class Finished: Sendable {
        private let done = Mutex(false)

        func claim() -> Bool {
            done.withLock { done in
                defer { done = true }
                return !done
            }
        }
    }

    /// Connects and signs in, the password read now (a rotated file is picked up on the next connection).
    private func connect() async throws -> PostgresConnection {
        let password: String?
        do {
            password = try settings.password?.read(environment: environment)
        } catch {
            throw PostgresMirrorFailure(description: error.description)
        }
        var configuration: PostgresConnection.Configuration
        switch settings.address {
        case .unixSocket(let path):
            configuration = .init(
                unixSocketPath: path, username: settings.user, password: password, database: settings.database)
        case .tcp(let host, let port):
            configuration = .init(
                host: host, port: port, username: settings.user, password: password, database: settings.database,
                tls: try tls())
        }
        configuration.options.connectTimeout = .milliseconds(Int64(settings.connectTimeoutSeconds * 1000))
        // The daemon's logger as it is: its level is shared with `--log-level` and SIGHUP (a copy with another
        // level would change the daemon's), and postgres-nio logs queries only at debug and trace.
        return try await PostgresConnection.connect(
            configuration: configuration, id: Int.random(in: 1...Int.max), logger: logger)
    }

    private func tls() throws -> PostgresConnection.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch settings.tls {
        case .disable:
            return .disable
        case .require:
            configuration.certificateVerification = .none
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
            if let caFile = settings.caFile { configuration.trustRoots = .file(caFile) }
        }
        do {
            return .require(try NIOSSLContext(configuration: configuration))
        } catch {
            throw PostgresMirrorFailure(description: "cannot set up TLS: \(error)")
        }
    }

}

/// Why the mirror could not write, in words that name the cause and never a secret.
struct PostgresMirrorFailure: Error, CustomStringConvertible {
    let description: String

    /// postgres-nio's own descriptions are deliberately vague (they may be logged anywhere); this one keeps the
    /// server's SQLSTATE and message and the network error, and says what the common causes mean. The query and its
    /// binds are never included.
    static func describe(_ error: any Error, _ settings: PostgresMirrorSettings) -> String {
        if let failure = error as? PostgresMirrorFailure { return failure.description }
        if let mismatch = error as? PostgresMirrorSchema.Mismatch { return mismatch.description }
        guard let psql = error as? PSQLError else { return "\(error)" }
        if let info = psql.serverInfo {
            let state = info[.sqlState] ?? "?"
            let message = info[.message] ?? "no message"
            let meaning: String
            switch state {
            case "28P01": meaning = "wrong password for user \(settings.user)"
            case "28000": meaning = "the server refuses user \(settings.user) (pg_hba.conf)"
            case "3D000": meaning = "database \(settings.database) does not exist"
            case "42501": meaning = "user \(settings.user) lacks a permission the mirror needs"
            case "57P01", "57P02", "57P03": meaning = "the server is shutting down or starting"
            default: meaning = "the server refused"
            }
            return "\(meaning): \(message) (SQLSTATE \(state))"
        }
        var text = "\(psql.code)"
        if let underlying = psql.underlying { text += ": \(underlying)" }
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server's TLS certificate is not trusted for \(settings.address.text) (tls 'verify-full': give "
                + "the CA that signed it in 'caFile', and connect by a name the certificate holds): \(text)"
        }
        switch psql.code {
        case .connectionError: return "cannot connect to \(settings.address.text): \(text)"
        case .sslUnsupported: return "the server does not offer TLS (tls is '\(settings.tls.rawValue)')"
        case .serverClosedConnection: return "the server closed the connection (\(text))"
        default: return text
        }
    }
}

extension PostgresMirrorSettings.Address {
    /// Where the server is, for messages.
    var text: String {
        switch self {
        case .tcp(let host, let port): "\(host):\(port)"
        case .unixSocket(let path): path
        }
    }
}

extension PostgresMirror: OutboxReader {}

extension PostgresConnection {
    /// BEGIN, `body`, COMMIT. Unlike postgres-nio's `withTransaction` it sends no ROLLBACK after a failure: the
    /// mirror drops the connection after any failure (which rolls the transaction back on the server), and a
    /// ROLLBACK written to a connection the server already closed would never be answered.
    func mirrorTransaction(logger: Logger, _ body: (PostgresConnection) async throws -> Void) async throws {
        try await query("BEGIN", logger: logger)
        try await body(self)
        try await query("COMMIT", logger: logger)
    }
}
