import Dispatch
import Foundation
import Synchronization

/// What an interrupted benchmark must not leave behind: running children and its temporary directories.
///
/// The children run in their own process groups (Foundation's `Process` does that), so a Ctrl-C reaches only the
/// benchmark. `installInterruptHandlers()` turns SIGINT, SIGTERM and SIGHUP into: SIGTERM to every child, up to
/// three seconds for them to shut down cleanly, SIGKILL to any still running, temporary directories removed,
/// exit with 128 + the signal number. Only SIGKILL of the benchmark itself can orphan a child.
enum BenchmarkCleanup {
    private static let children = Mutex<Set<pid_t>>([])
    private static let directories = Mutex<[String]>([])
    /// The Dispatch sources must stay alive for as long as the handlers should run.
    private static let sources = Mutex<[any DispatchSourceSignal]>([])
    private static let interruptInProgress = Mutex(false)

    static func register(child pid: pid_t) { _ = children.withLock { $0.insert(pid) } }
    static func unregister(child pid: pid_t) { _ = children.withLock { $0.remove(pid) } }

    /// Removes `path` on interrupt, unless `forget(directory:)` is called first (kept, or already removed).
    static func register(directory path: String) { directories.withLock { $0.append(path) } }
    static func forget(directory path: String) { directories.withLock { $0.removeAll { $0 == path } } }

    /// Handles SIGINT, SIGTERM and SIGHUP as described on the type; call once, before starting any child.
    static func installInterruptHandlers() {
        let queue = DispatchQueue(label: "presence-sync.benchmark.signals")
        sources.withLock { sources in
            for number in [SIGINT, SIGTERM, SIGHUP] {
                // Ignored at the process level so that only the Dispatch source sees it.
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { interrupted(by: number) }
                source.activate()
                sources.append(source)
            }
        }
    }

    /// Never returns once an interrupt is being handled, so that the handler alone stops the children (one SIGTERM
    /// each, not a second one that would make them exit at once) and ends the process; returns at once otherwise.
    static func parkIfInterrupted() async {
        guard interruptInProgress.withLock({ $0 }) else { return }
        while true {
            if Task.isCancelled { usleep(100_000) } else { try? await Task.sleep(for: .milliseconds(100)) }
        }
    }

    /// Runs on the signal queue; never returns.
    private static func interrupted(by number: Int32) -> Never {
        interruptInProgress.withLock { $0 = true }
        let running = children.withLock { $0 }
        FileHandle.standardError.write(
            Data("benchmark: interrupted by signal \(number); stopping \(running.count) child process(es)\n".utf8))
        for pid in running { kill(pid, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(3)
        while !children.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline { usleep(20_000) }
        for pid in children.withLock({ $0 }) { kill(pid, SIGKILL) }
        for path in directories.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
        exit(128 + number)
    }
}

/// Why the benchmark could not produce a measurement (a child died, a cycle never finished, bad output).
public struct BenchmarkError: Error, CustomStringConvertible {
    public var description: String

    init(_ description: String) { self.description = description }
}

extension BenchmarkCleanup {
    /// A fresh directory for one measurement: `keep/name` when `keep` is given (refused if it exists: an old
    /// database would skew every number), else a temporary one that an interrupt removes.
    static func workDirectory(keep: String?, name: String, temporaryPrefix: String) throws(BenchmarkError) -> URL {
        let directory: URL
        if let keep {
            directory = URL(fileURLWithPath: keep).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: directory.path) {
                throw BenchmarkError("\(directory.path) already exists; remove it or choose another --keep")
            }
        } else {
            directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("\(temporaryPrefix)-\(getpid())-\(name)")
            register(directory: directory.path)
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw BenchmarkError("cannot create \(directory.path): \(error)")
        }
        return directory
    }
}
