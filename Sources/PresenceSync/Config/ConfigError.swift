/// A configuration problem, naming the file and the key so an operator can fix it without reading code.
///
/// Configuration errors are fatal at start (exit status 78, EX_CONFIG) and rejected on reload; they never carry
/// secret values, only where a secret was expected to come from.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The configuration file, or nil when the configuration did not come from a file.
    public var file: String?
    /// The dotted key path of the offending value (`polling.batchSize`), or nil for whole-document problems.
    public var key: String?
    /// What is wrong, in words an operator can act on.
    public var problem: String

    public init(file: String? = nil, key: String?, _ problem: String) {
        self.file = file
        self.key = key
        self.problem = problem
    }

    public var description: String {
        var text = "invalid configuration"
        if let file { text += " in \(file)" }
        if let key { text += ": key '\(key)'" }
        return text + ": " + problem
    }
}
