import Foundation
import TestSupport

/// Runs `body` with the path of a fresh, empty directory that is removed afterwards, whatever the test did
/// (TestSupport's `TemporaryDirectory`, the one type for it in every test target).
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let directory = TemporaryDirectory("sqlite-tests")
    return try withExtendedLifetime(directory) { try body(directory.path) }
}

/// Size of the file at `path` in bytes, or nil when there is no such file.
func fileSize(_ path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
}

/// True when something exists at `path`.
func fileExists(_ path: String) -> Bool {
    FileManager.default.fileExists(atPath: path)
}
