internal import CSQLite

/// The current row of a running statement, read by 0-based column index.
///
/// A view, not a copy: it is valid only inside the `query`/`queryOne` callback that received it, and reading
/// columns costs no allocation except for the `String` or `[UInt8]` that `text` and `blob` return. Getters follow
/// SQLite's conversions (NULL reads as 0 or 0.0; text that looks like a number converts).
public struct Row {
    let handle: OpaquePointer

    /// Number of columns in the row.
    public var count: Int32 { sqlite3_column_count(handle) }

    /// True when column `i` holds NULL.
    public func isNull(_ i: Int32) -> Bool {
        sqlite3_column_type(handle, i) == SQLITE_NULL
    }

    /// Column `i` as a 64-bit integer (0 for NULL).
    public func int64(_ i: Int32) -> Int64 {
        sqlite3_column_int64(handle, i)
    }

    /// Column `i` as an `Int` (0 for NULL).
    public func int(_ i: Int32) -> Int {
        Int(sqlite3_column_int64(handle, i))
    }

    /// Column `i` as a double (0.0 for NULL).
    public func double(_ i: Int32) -> Double {
        sqlite3_column_double(handle, i)
    }

    /// Column `i` as a boolean: any non-zero integer is true, NULL is false.
    public func bool(_ i: Int32) -> Bool {
        sqlite3_column_int64(handle, i) != 0
    }

    /// Column `i` as text, nil for NULL; decoded by byte length, so embedded NULs and any Unicode survive.
    public func text(_ i: Int32) -> String? {
        // Ask for the text first, then its length: the order SQLite documents as safe when it has to convert.
        guard let bytes = sqlite3_column_text(handle, i) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, i))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// Column `i` as bytes, nil for NULL; an empty blob reads as an empty array.
    public func blob(_ i: Int32) -> [UInt8]? {
        guard sqlite3_column_type(handle, i) != SQLITE_NULL else { return nil }
        guard let bytes = sqlite3_column_blob(handle, i) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, i))
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// Column `i` with its own storage class, exactly as SQLite holds it.
    public func value(_ i: Int32) -> Value {
        switch sqlite3_column_type(handle, i) {
        case SQLITE_INTEGER: .integer(sqlite3_column_int64(handle, i))
        case SQLITE_FLOAT: .real(sqlite3_column_double(handle, i))
        case SQLITE3_TEXT: .text(text(i) ?? "")
        case SQLITE_BLOB: .blob(blob(i) ?? [])
        default: .null
        }
    }
}

/// Deliberately not Sendable: a row points into a statement that belongs to one thread.
@available(*, unavailable)
extension Row: Sendable {}
