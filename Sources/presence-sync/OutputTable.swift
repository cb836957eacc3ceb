import Foundation

/// One value in command output: text, or a number that JSON keeps numeric.
enum OutputCell {
    case text(String?)
    case integer(Int64)
    case decimal(Double, places: Int)
    case bool(Bool)

    /// The value for people and CSV; nil prints as "-" in tables and as an empty CSV field.
    var plain: String? {
        switch self {
        case .text(let text): text
        case .integer(let value): String(value)
        case .decimal(let value, let places): String(format: "%.\(places)f", value)
        case .bool(let value): value ? "yes" : "no"
        }
    }

    /// The value as a JSON literal.
    var json: String {
        switch self {
        case .text(let text): text.map(OutputTable.jsonString) ?? "null"
        case .integer(let value): String(value)
        case .decimal(let value, let places): String(format: "%.\(places)f", value)
        case .bool(let value): value ? "true" : "false"
        }
    }
}

/// Rows with named columns, printed as an aligned table, CSV (RFC 4180) or a JSON array of objects.
///
/// Column names are snake_case so the same names serve as CSV headers and JSON keys; tables upper-case them.
struct OutputTable {
    enum Format {
        case table, csv, json
    }

    var columns: [String]
    var rows: [[OutputCell]] = []

    init(_ columns: [String]) {
        self.columns = columns
    }

    mutating func append(_ row: [OutputCell]) {
        precondition(row.count == columns.count, "a row must have one cell per column")
        rows.append(row)
    }

    func render(_ format: Format) -> String {
        switch format {
        case .table: table()
        case .csv: csv()
        case .json: json()
        }
    }

    private func table() -> String {
        let header = columns.map { $0.replacingOccurrences(of: "_", with: " ").uppercased() }
        let body = rows.map { $0.map { Self.oneLine($0.plain ?? "-") } }
        var widths = header.map(\.count)
        for row in body {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (index, cell) in cells.enumerated() {
                let isLast = index == cells.count - 1
                text += isLast ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
            }
            return text
        }
        return ([line(header)] + body.map(line)).joined(separator: "\n") + "\n"
    }

    private func csv() -> String {
        func field(_ text: String) -> String {
            guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        let lines =
            [columns.map(field).joined(separator: ",")]
            + rows.map { $0.map { field($0.plain ?? "") }.joined(separator: ",") }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    private func json() -> String {
        let objects = rows.map { row in
            "{" + zip(columns, row).map { "\(Self.jsonString($0)):\($1.json)" }.joined(separator: ",") + "}"
        }
        return "[" + objects.joined(separator: ",\n") + "]\n"
    }

    /// A JSON string literal (Foundation's escaping).
    static func jsonString(_ text: String) -> String {
        guard let data = try? JSONEncoder().encode(text) else { return "\"\"" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Newlines and other control characters shown escaped, so a status message never breaks a table row.
    private static func oneLine(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += " "
            case _ where scalar.value < 0x20 || scalar == "\u{2028}" || scalar == "\u{2029}":
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
