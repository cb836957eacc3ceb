import Foundation

/// One reading of a running process's CPU time and memory, taken from `/proc` (Linux only).
///
/// CPU time is utime + stime from `/proc/PID/stat`, which counts every thread of the process, in clock ticks
/// (`sysconf(_SC_CLK_TCK)`, 100 per second on Linux, so a reading is exact to one tick). Memory is VmRSS and
/// VmHWM (the highest RSS the kernel has seen for the process) from `/proc/PID/status`, and its two parts:
/// RssAnon (private memory: heap, stacks) and RssFile (mapped file pages: the binary's code, libraries).
struct BenchmarkProcessSample: Sendable, Codable, Equatable {
    /// User plus system CPU time the process has used since it started, in seconds.
    var cpuSeconds: Double
    /// Resident set size at the time of the reading, in KiB (nil when the kernel did not report it).
    var residentKiB: Int?
    /// Peak resident set size so far (VmHWM), in KiB.
    var peakResidentKiB: Int?
    /// Private resident memory (RssAnon), in KiB.
    var privateKiB: Int?
    /// Resident pages of mapped files (RssFile), in KiB.
    var fileKiB: Int?

    /// Clock ticks per second, the unit of utime and stime.
    static let clockTicksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// Reads the process now; nil if it no longer exists.
    static func current(pid: pid_t) -> BenchmarkProcessSample? {
        guard let stat = readProcFile("/proc/\(pid)/stat"), let end = stat.lastIndex(of: UInt8(ascii: ")")) else {
            return nil
        }
        // Field 2, the command name, is in parentheses and may hold spaces; the fields after it are plain.
        // fields[0] is field 3 (state), so utime (field 14) and stime (field 15) are fields[11] and fields[12].
        let fields = stat[(end + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 12, let user = Int(decimal: fields[11]), let system = Int(decimal: fields[12]) else {
            return nil
        }
        var sample = BenchmarkProcessSample(cpuSeconds: Double(user + system) / clockTicksPerSecond)
        if let status = readProcFile("/proc/\(pid)/status") {
            for line in status.split(separator: UInt8(ascii: "\n")) {
                if line.starts(with: Array("VmRSS:".utf8)) {
                    sample.residentKiB = kibibytes(line)
                } else if line.starts(with: Array("VmHWM:".utf8)) {
                    sample.peakResidentKiB = kibibytes(line)
                } else if line.starts(with: Array("RssAnon:".utf8)) {
                    sample.privateKiB = kibibytes(line)
                } else if line.starts(with: Array("RssFile:".utf8)) {
                    sample.fileKiB = kibibytes(line)
                }
            }
        }
        return sample
    }

    /// The number in a `/proc/PID/status` line such as `VmHWM:\t   51234 kB`.
    private static func kibibytes(_ line: ArraySlice<UInt8>) -> Int? {
        let digits = line.drop { !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            .prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        return Int(decimal: digits)
    }

    /// Reads a whole `/proc` file with plain system calls: these files report size 0 and are read in one go.
    private static func readProcFile(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return nil }
            if count == 0 { return contents }
            contents.append(contentsOf: chunk[0..<count])
        }
    }
}

extension Int {
    /// Parses unsigned ASCII decimal digits; nil for an empty or non-numeric slice.
    fileprivate init?(decimal digits: some Collection<UInt8>) {
        guard !digits.isEmpty else { return nil }
        var value = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        self = value
    }
}
