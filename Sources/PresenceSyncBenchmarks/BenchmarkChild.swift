import Dispatch
import Foundation
import Synchronization

/// A child process of the benchmark (the simulator or the daemon) whose output is read on dedicated threads.
///
/// Both output streams are pipes drained as fast as the child writes, exactly as a production consumer would:
/// standard output is counted line by line and discarded (for the daemon these are the change events), standard
/// error is copied to a log file and, when asked, handed out line by line. `onExit` is called once, after the
/// process has ended and both pipes have reached end of file, so every line has been seen by then.
///
/// Foundation starts each child in its own process group, so a Ctrl-C at the terminal does not reach it:
/// every running child is listed in `BenchmarkCleanup` until it exits, for the interrupt handler to end.
final class BenchmarkChild: Sendable {
    /// How a child ended.
    struct Exit: Sendable, CustomStringConvertible {
        /// The exit status, or the signal number when `signalled`.
        var status: Int32
        var signalled: Bool

        var description: String { signalled ? "was killed by signal \(status)" : "exited with status \(status)" }
    }

    /// Called with each complete line (without its newline) and the child that wrote it.
    typealias LineHandler = @Sendable (_ line: String, _ child: BenchmarkChild) -> Void

    /// A short name for messages ("simulator", "daemon").
    let name: String
    /// The executable followed by its arguments, for reports.
    let commandLine: [String]
    private let process: Process
    private let outputLines = Atomic<Int>(0)
    private let exitState = Mutex<Exit?>(nil)

    /// Starts `executable` with `arguments`; standard error is copied to `errorLog` (created or truncated).
    init(
        name: String, executable: String, arguments: [String], errorLog: URL,
        onOutputLine: LineHandler? = nil, onErrorLine: LineHandler? = nil,
        onExit: @escaping @Sendable (Exit) -> Void
    ) throws {
        self.name = name
        self.commandLine = [executable] + arguments
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        self.process = process

        let logDescriptor = open(errorLog.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard logDescriptor >= 0 else {
            throw BenchmarkError("cannot create \(errorLog.path): \(String(cString: strerror(errno)))")
        }
        let finished = DispatchGroup()
        finished.enter()  // the process
        finished.enter()  // standard output
        finished.enter()  // standard error
        process.terminationHandler = { _ in finished.leave() }
        do {
            try process.run()
        } catch {
            close(logDescriptor)
            throw BenchmarkError("cannot start the \(name) (\(executable)): \(error)")
        }
        let pid = process.processIdentifier
        BenchmarkCleanup.register(child: pid)
        Thread.detachNewThread { [self] in
            pump(output, log: -1, handler: onOutputLine, countsLines: true)
            finished.leave()
        }
        Thread.detachNewThread { [self] in
            pump(error, log: logDescriptor, handler: onErrorLine, countsLines: false)
            close(logDescriptor)
            finished.leave()
        }
        finished.notify(queue: .global()) { [self] in
            let ended = Exit(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal)
            self.exitState.withLock { $0 = ended }
            BenchmarkCleanup.unregister(child: pid)
            onExit(ended)
        }
    }

    var pid: pid_t { process.processIdentifier }

    /// Lines the child has written to standard output so far.
    var outputLineCount: Int { outputLines.load(ordering: .relaxed) }

    /// How the child ended, once it has ended and its output has been read to the end.
    var ended: Exit? { exitState.withLock { $0 } }

    /// Ends the child: SIGTERM (a graceful shutdown for our commands), then SIGKILL after `grace`.
    func stop(grace: Duration = .seconds(10)) async {
        guard ended == nil else { return }
        kill(pid, SIGTERM)
        if await waitForEnd(timeout: grace) { return }
        kill(pid, SIGKILL)
        _ = await waitForEnd(timeout: .seconds(5))
    }

    /// Waits until `ended` is set; false on timeout. Keeps polling even in a cancelled task.
    private func waitForEnd(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ended == nil {
            if ContinuousClock.now >= deadline { return false }
            if Task.isCancelled { usleep(20_000) } else { try? await Task.sleep(for: .milliseconds(20)) }
        }
        return true
    }

    /// Reads `pipe` until end of file: copies to `log`, counts lines, hands out complete lines to `handler`.
    private func pump(_ pipe: Pipe, log: Int32, handler: LineHandler?, countsLines: Bool) {
        let descriptor = pipe.fileHandleForReading.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var partial: [UInt8] = []
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            buffer.withUnsafeBufferPointer { all in
                let chunk = UnsafeBufferPointer(rebasing: all[0..<count])
                if log >= 0 { Self.writeAll(chunk, to: log) }
                var newlines = 0
                var lineStart = 0
                for index in 0..<chunk.count where chunk[index] == UInt8(ascii: "\n") {
                    newlines += 1
                    guard let handler else { continue }
                    partial.append(contentsOf: chunk[lineStart..<index])
                    handler(String(decoding: partial, as: UTF8.self), self)
                    partial.removeAll(keepingCapacity: true)
                    lineStart = index + 1
                }
                if handler != nil { partial.append(contentsOf: chunk[lineStart...]) }
                if countsLines { outputLines.add(newlines, ordering: .relaxed) }
            }
        }
    }

    private static func writeAll(_ bytes: UnsafeBufferPointer<UInt8>, to descriptor: Int32) {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }  // a full disk loses log lines, not measurements
            offset += written
        }
    }
}
