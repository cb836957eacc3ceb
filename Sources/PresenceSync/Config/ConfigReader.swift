import Foundation

/// Reads one JSON object of the configuration, remembering which keys were read so unknown ones can be rejected.
///
/// Every getter names the full key path in its error; `finish()` rejects keys nobody asked for, which catches
/// typos such as `pollIntervalSecond` that would otherwise silently fall back to a default.
struct ConfigReader {
    let path: String
    private let object: [String: JSONValue]
    private var consumed: Set<String> = []

    init(_ value: JSONValue, path: String) throws(ConfigError) {
        guard case .object(let object) = value else {
            throw ConfigError(key: path.isEmpty ? nil : path, "expected an object, found \(value.typeName)")
        }
        self.object = object
        self.path = path
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The raw value of `key`, or nil when absent or JSON null (both mean "use the default").
    mutating func value(_ key: String) -> JSONValue? {
        consumed.insert(key)
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    mutating func has(_ key: String) -> Bool {
        guard let value = object[key] else { return false }
        return value != .null
    }

    mutating func string(_ key: String) throws(ConfigError) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else {
            throw ConfigError(key: keyPath(key), "expected a string, found \(value.typeName)")
        }
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigError(key: keyPath(key), "must not be empty")
        }
        return text
    }

    mutating func requiredString(_ key: String) throws(ConfigError) -> String {
        guard let text = try string(key) else { throw ConfigError(key: keyPath(key), "is required") }
        return text
    }

    mutating func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else {
            throw ConfigError(key: keyPath(key), "expected true or false, found \(value.typeName)")
        }
        return flag
    }

    /// A number within `range`; fractional values are accepted only when `integral` is false.
    mutating func number(
        _ key: String, in range: ClosedRange<Double>, integral: Bool = false
    ) throws(ConfigError) -> Double? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value else {
            throw ConfigError(key: keyPath(key), "expected a number, found \(value.typeName)")
        }
        if integral && number.rounded() != number {
            throw ConfigError(key: keyPath(key), "expected a whole number, found \(number)")
        }
        guard range.contains(number) else {
            throw ConfigError(key: keyPath(key), "\(Self.format(number)) is out of range \(Self.format(range))")
        }
        return number
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        try number(key, in: Double(range.lowerBound)...Double(range.upperBound), integral: true).map { Int($0) }
    }

    mutating func stringArray(_ key: String) throws(ConfigError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else {
            throw ConfigError(key: keyPath(key), "expected an array of strings, found \(value.typeName)")
        }
        return try items.enumerated().map { (index, item) throws(ConfigError) -> String in
            guard case .string(let text) = item else {
                throw ConfigError(key: "\(keyPath(key))[\(index)]", "expected a string, found \(item.typeName)")
            }
            return text
        }
    }

    mutating func object(_ key: String) throws(ConfigError) -> ConfigReader? {
        guard let value = value(key) else { return nil }
        return try ConfigReader(value, path: keyPath(key))
    }

    /// Rejects every key that no getter asked for, naming the first few.
    func finish() throws(ConfigError) {
        let unknown = object.keys.filter { !consumed.contains($0) }.sorted()
        guard let first = unknown.first else { return }
        let known = consumed.sorted().joined(separator: ", ")
        throw ConfigError(key: keyPath(first), "unknown key (known keys here: \(known))")
    }

    private static func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    private static func format(_ range: ClosedRange<Double>) -> String {
        "\(format(range.lowerBound))...\(format(range.upperBound))"
    }
}
