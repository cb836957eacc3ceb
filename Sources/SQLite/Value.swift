/// One SQLite value, as stored in a column or bound to a parameter.
///
/// The cases mirror SQLite's five storage classes exactly, so nothing is converted or lost on the way in or out.
/// Hot paths bind Swift values with `Statement.bind(_:at:)` and read them with `Row`'s typed getters instead of
/// building `Value`s, which avoids an enum and (for text and blobs) an array per column.
public enum Value: Sendable, Hashable {
    /// SQL NULL: distinct from an empty string and from an empty blob.
    case null
    /// A 64-bit signed integer; the full `Int64` range round-trips.
    case integer(Int64)
    /// An IEEE 754 double.
    case real(Double)
    /// UTF-8 text; embedded NUL characters round-trip.
    case text(String)
    /// Raw bytes; an empty blob stays an empty blob (not NULL).
    case blob([UInt8])
}

extension Value: ExpressibleByNilLiteral {
    /// `nil` is `.null`.
    public init(nilLiteral: ()) {
        self = .null
    }
}

extension Value: ExpressibleByIntegerLiteral {
    /// An integer literal is `.integer`.
    public init(integerLiteral value: Int64) {
        self = .integer(value)
    }
}

extension Value: ExpressibleByFloatLiteral {
    /// A floating-point literal is `.real`.
    public init(floatLiteral value: Double) {
        self = .real(value)
    }
}

extension Value: ExpressibleByStringLiteral {
    /// A string literal is `.text`.
    public init(stringLiteral value: String) {
        self = .text(value)
    }
}

extension Value: ExpressibleByBooleanLiteral {
    /// `true` and `false` are `.integer(1)` and `.integer(0)`, which is how SQLite stores booleans.
    public init(booleanLiteral value: Bool) {
        self = .integer(value ? 1 : 0)
    }
}
