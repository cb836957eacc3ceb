import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL server for tests: a cluster made by `initdb` in a temporary directory, started by
/// `pg_ctl` on a Unix socket and a loopback port, stopped (and its files removed) when the value is released.
///
/// It is Debian's PostgreSQL, run for real (`.ci/run` installs the `postgresql` package). `initdb` and the server
/// refuse to run as root, so as root they run as the `postgres` user the package creates. The superuser signs in
/// over the socket without a password (for the tests' own checks); over TCP every user needs its password
/// (scram-sha-256), as a production server would.
public final class PostgresServer: Sendable {
    /// A failed step, with the tool's output.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let directory: TemporaryDirectory
    /// The directory holding the server's socket (`?host=` in a URL).
    public let socketDirectory: String
    public let port: Int
    /// The superuser's name (no password over the socket).
    public let superuser = "postgres"
    private let binaries: String
    private let dataDirectory: String
    private let runAsPostgres: Bool

    /// The server's self-signed certificate (PEM, for 127.0.0.1), when started with `tls`.
    public let certificateFile: String?

    /// Creates and starts a cluster; throws when PostgreSQL is not installed or does not start.
    ///
    /// - Parameter tls: serve TLS with a self-signed certificate for 127.0.0.1 (made by `openssl`), and accept TCP
    ///   sign-ins only over TLS (`hostssl` in pg_hba.conf).
    public init(tls: Bool = false) throws {
        guard let binaries = Self.binaryDirectory() else {
            throw Failure(
                description:
                    "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql")
        }
        self.binaries = binaries
        directory = TemporaryDirectory("presence-sync-pg")
        socketDirectory = directory.file("socket")
        dataDirectory = directory.file("data")
        runAsPostgres = getuid() == 0
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        if runAsPostgres {
            try Self.run("/bin/chown", ["-R", "postgres:postgres", directory.path])
            try Self.run("/bin/chmod", ["755", directory.path])
        }
        port = try LoopbackSocket.freePort()
        certificateFile = tls ? "\(dataDirectory)/server.crt" : nil
        try Self.run("/bin/cp", ["-a", try template(), dataDirectory])
        if let certificate = certificateFile {
            try tool(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(dataDirectory)/server.key", "-out",
                    certificate, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                ])
            let hba = "\(dataDirectory)/pg_hba.conf"
            let rules = try String(contentsOfFile: hba, encoding: .utf8)
                .replacingOccurrences(of: "\nhost ", with: "\nhostssl ")
            try rules.write(toFile: hba, atomically: false, encoding: .utf8)
            let conf = "\(dataDirectory)/postgresql.conf"
            try (String(contentsOfFile: conf, encoding: .utf8) + "\nssl = on\n")
                .write(toFile: conf, atomically: false, encoding: .utf8)
        }
        try start()
    }

    /// A cluster made by `initdb` once and copied for every server: `initdb` costs about 1.6 s of CPU, a copy a
    /// tenth of that, and the tests start a dozen servers beside timing-sensitive tests. It stays in the system's
    /// temporary folder, one per PostgreSQL version (`presence-sync-pg-template-15`), for the next run; made under a
    /// lock and moved into place whole, so a half-made template is never copied.
    private func template() throws -> String {
        try Self.templateLock.withLock {
            let version = (binaries as NSString).deletingLastPathComponent.components(separatedBy: "/").last ?? "pg"
            let base = FileManager.default.temporaryDirectory.path
            let template = "\(base)/presence-sync-pg-template-\(version)"
            if FileManager.default.fileExists(atPath: "\(template)/PG_VERSION") { return template }
            let staging = "\(template).\(getpid())-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
            if runAsPostgres { try Self.run("/bin/chown", ["postgres:postgres", staging]) }
            try tool(
                "initdb",
                [
                    "-D", staging, "-U", superuser, "-E", "UTF8", "--no-sync", "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ])
            if rename(staging, template) != 0 { try? FileManager.default.removeItem(atPath: staging) }
            return template
        }
    }

    private static let templateLock = NSLock()

    /// Starts the server (again, after `stop()`), on the same socket and port.
    public func start() throws {
        try tool(
            "pg_ctl",
            [
                "-D", dataDirectory, "-l", directory.file("server.log"), "-w", "-t", "60", "start", "-o",
                "-k \(socketDirectory) -p \(port) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            ])
    }

    /// Stops the server (fast shutdown: sessions are ended, as when an operator restarts it).
    public func stop() throws {
        try tool("pg_ctl", ["-D", dataDirectory, "-w", "-m", "fast", "stop"])
    }

    /// Runs SQL as the superuser through `psql` and returns its unaligned rows (`|` between columns, `NULL` for
    /// null; rows split on a record separator, so a value may hold line breaks); throws with psql's message when
    /// the SQL fails.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> [String] {
        let output = try tool(
            "psql",
            [
                "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", socketDirectory, "-p", "\(port)", "-U", superuser, "-d",
                database, "-At", "-F", "|", "-R", "\u{1E}", "-P", "null=NULL", "-c", sql,
            ])
        var text = output
        if text.hasSuffix("\n") { text.removeLast() }
        return text.split(separator: "\u{1E}", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    }

    /// Creates a database and a user who owns it, signing in with `password` over TCP.
    public func createDatabase(_ name: String, owner: String, password: String) throws {
        try psql("CREATE ROLE \(owner) LOGIN PASSWORD '\(password)'")
        try psql("CREATE DATABASE \(name) OWNER \(owner)")
    }

    /// The server's log so far (for a failing test's message).
    public var log: String { (try? String(contentsOfFile: directory.file("server.log"), encoding: .utf8)) ?? "" }

    deinit { try? stop() }

    @discardableResult
    private func tool(_ name: String, _ arguments: [String]) throws -> String {
        let path = name.hasPrefix("/") ? name : "\(binaries)/\(name)"
        if runAsPostgres { return try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments) }
        return try Self.run(path, arguments)
    }

    /// Runs a tool to its end and returns its output (standard output and error, through a file).
    ///
    /// posix_spawn and waitpid rather than Foundation's `Process`: its `waitUntilExit` waits for a run loop that a
    /// test's task does not turn, and a server that `pg_ctl` leaves running must not hold a pipe open.
    @discardableResult
    private static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let outputPath = "/tmp/presence-sync-pg-tool-\(getpid())-\(UUID().uuidString.prefix(8)).log"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw Failure(description: "cannot start \(executable): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let name = (executable as NSString).lastPathComponent
            throw Failure(
                description: "\(name) \(arguments.prefix(3).joined(separator: " ")) failed (status \(status)): \(text)")
        }
        return text
    }

    /// The newest PostgreSQL's binaries under /usr/lib/postgresql (Debian keeps one folder per major version).
    private static func binaryDirectory() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap { Int($0) }.sorted(by: >).map { "\(root)/\($0)/bin" }
            .first { FileManager.default.isExecutableFile(atPath: "\($0)/initdb") }
    }
}
