import Foundation
import Synchronization

/// A real child process (usually the `presence-sync` binary) whose output tests can wait for and whose
/// life they can end with real signals.
public final class ChildProcess: Sendable {
    private let process: Process
    private let output = OutputBuffer()

    /// Holds what the child wrote; a class so the pipe handlers can share it.
    private final class OutputBuffer: Sendable {
        let bytes = Mutex<(stdout: [UInt8], stderr: [UInt8])>(([], []))
        /// Pipes that reached end of file (an empty read): everything the child wrote there has been read.
        let stdoutClosed = Atomic<Bool>(false)
        let stderrClosed = Atomic<Bool>(false)
        var drained: Bool {
            stdoutClosed.load(ordering: .sequentiallyConsistent) && stderrClosed.load(ordering: .sequentiallyConsistent)
        }
        func append(stdout data: Data) { bytes.withLock { $0.stdout.append(contentsOf: data) } }
        func append(stderr data: Data) { bytes.withLock { $0.stderr.append(contentsOf: data) } }
        var stdout: String { bytes.withLock { String(decoding: $0.stdout, as: UTF8.self) } }
        var stderr: String { bytes.withLock { String(decoding: $0.stderr, as: UTF8.self) } }
    }

    /// The `presence-sync` executable built next to the test bundle.
    public static var presenceSyncBinary: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("presence-sync").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/presence-sync").path
    }

    /// Starts `executable` with `arguments`; standard output and error are captured.
    public init(
        _ arguments: [String], executable: String = ChildProcess.presenceSyncBinary,
        environment: [String: String]? = nil
    ) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        self.process = process
        let output = self.output
        // One blocking reader thread per pipe, not a Dispatch readability handler: Dispatch's few worker threads
        // can all be busy in other tests' fsyncs, and then the child's output arrived late or, within the wait
        // after exit, not at all.
        let stdoutReader = stdout.fileHandleForReading
        let stderrReader = stderr.fileHandleForReading
        Thread {
            while case let data = stdoutReader.availableData, !data.isEmpty { output.append(stdout: data) }
            output.stdoutClosed.store(true, ordering: .sequentiallyConsistent)
        }.start()
        Thread {
            while case let data = stderrReader.availableData, !data.isEmpty { output.append(stderr: data) }
            output.stderrClosed.store(true, ordering: .sequentiallyConsistent)
        }.start()
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var standardOutput: String { output.stdout }
    public var standardError: String { output.stderr }
    /// Complete lines written to standard output so far.
    public var outputLines: [String] {
        let text = standardOutput
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()  // the part after the last newline is not a complete line yet
        return lines
    }

    /// Waits until standard error contains `text` `count` times; false on timeout or if the process exited first.
    public func waitForStandardError(
        _ text: String, count: Int = 1, timeout: Duration = .seconds(60)
    ) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if standardError.components(separatedBy: text).count - 1 >= count { return true }
            if !process.isRunning {
                return standardError.components(separatedBy: text).count - 1 >= count
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    public func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to exit and returns its status (the signal number for a signalled process).
    public func waitForExit(timeout: Duration = .seconds(60)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // Let the pipes drain: wait for end of file on both (a loaded machine can take a while to deliver the
        // last bytes), but not forever, in case a grandchild still holds them open.
        let drained = ContinuousClock.now + .seconds(5)
        while !output.drained && ContinuousClock.now < drained {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return process.terminationStatus
    }

    public var terminatedBySignal: Bool { process.terminationReason == .uncaughtSignal }

    /// True until the process has exited.
    public var isRunning: Bool { process.isRunning }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}
