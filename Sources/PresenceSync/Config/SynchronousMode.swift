/// How hard SQLite pushes each commit to the disk.
public enum SynchronousMode: String, Sendable, CaseIterable {
    /// Every commit is on disk before it returns: a committed change (and its event id) survives a power loss.
    case full
    /// Commits survive a crash of the process but the last ones may be lost on power loss; faster.
    case normal
}
