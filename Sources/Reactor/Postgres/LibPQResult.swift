import CLibPQ
import Foundation

/// A `PGresult` turned into Swift values at once, so the C result can be freed at once.
enum LibPQResult {
    /// A statement finished: its rows (none for most commands) and the count of rows it touched.
    case completed(PGQueryResult)
    /// A statement failed; the server's SQLSTATE and words (or libpq's, when it failed itself).
    case failed(LibPQServerError)
    /// The statement was skipped because an earlier one in the same pipeline unit failed.
    case skipped
    /// The end of a pipeline unit (`PQpipelineSync`): the server committed or rolled it back.
    case pipelineSync

    init(_ result: OpaquePointer) {
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            self = .completed(Self.decode(result))
        case PGRES_PIPELINE_ABORTED: self = .skipped
        case PGRES_PIPELINE_SYNC: self = .pipelineSync
        case let status:
            // Fatal errors, and what we never ask for (COPY, a bad response): a failure either way.
            let message = PQresultErrorField(result, clibpq_diag_message_primary()).map { String(cString: $0) }
            let fallback = PQresultErrorMessage(result).map { String(cString: $0) } ?? ""
            self = .failed(
                LibPQServerError(
                    sqlState: PQresultErrorField(result, clibpq_diag_sqlstate()).map { String(cString: $0) },
                    message: message
                        ?? Self.oneLine(fallback.isEmpty ? String(cString: PQresStatus(status)) : fallback),
                    detail: PQresultErrorField(result, clibpq_diag_message_detail()).map { String(cString: $0) }))
        }
    }

    private static func decode(_ result: OpaquePointer) -> PGQueryResult {
        let columnCount = PQnfields(result)
        let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
        let types = (0..<columnCount).map { PQftype(result, $0) }
        var rows: [[String: SQLiteValue]] = []
        rows.reserveCapacity(Int(PQntuples(result)))
        for row in 0..<PQntuples(result) {
            var values: [String: SQLiteValue] = [:]
            for column in 0..<columnCount {
                values[columns[Int(column)]] = value(result, row, column, type: types[Int(column)])
            }
            rows.append(values)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PGQueryResult(columns: columns, rows: rows, affectedRows: affected)
    }

    /// One text-format cell as the value type the SQLite store uses, chosen by column type.
    private static func value(_ result: OpaquePointer, _ row: Int32, _ column: Int32, type: Oid) -> SQLiteValue {
        if PQgetisnull(result, row, column) == 1 { return .null }
        let cell = PQgetvalue(result, row, column)!
        switch type {
        case PGTypeOID.int2, PGTypeOID.int4, PGTypeOID.int8, PGTypeOID.oid:
            return Int64(String(cString: cell)).map(SQLiteValue.integer) ?? .text(String(cString: cell))
        case PGTypeOID.float4, PGTypeOID.float8, PGTypeOID.numeric:
            return Double(String(cString: cell)).map(SQLiteValue.real) ?? .text(String(cString: cell))
        case PGTypeOID.bool:
            return .integer(cell.pointee == CChar(UInt8(ascii: "t")) ? 1 : 0)
        case PGTypeOID.bytea:
            // Text format is hex ("\x0102") or, with bytea_output = escape, octal; libpq reads both.
            var length = 0
            guard let bytes = PQunescapeBytea(UnsafeRawPointer(cell).assumingMemoryBound(to: UInt8.self), &length)
            else { return .blob(Data()) }
            defer { PQfreemem(bytes) }
            return .blob(Data(bytes: bytes, count: length))
        default:
            return .text(String(cString: cell))
        }
    }

    /// libpq's text in one line: "ERROR:"-style prefixes dropped, lines joined with "; ", and
    /// its indented explanation lines put in parentheses after the line they explain:
    /// "Connection refused (is the server running on that host and accepting TCP/IP connections?)".
    static func oneLine(_ message: String) -> String {
        var lines: [String] = []
        var explanation: [String] = []
        func finishLine() {
            guard !explanation.isEmpty, let line = lines.popLast() else { return }
            var text = explanation.joined(separator: " ")
            text = text.prefix(1).lowercased() + text.dropFirst()
            if text.hasSuffix(".") { text.removeLast() }
            lines.append(line + " (" + text + ")")
            explanation = []
        }
        for line in message.split(whereSeparator: \.isNewline) {
            var text = line.trimmingCharacters(in: .whitespaces)
            for prefix in ["FATAL:", "ERROR:", "PANIC:"] where text.hasPrefix(prefix) {
                text = String(text.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
            }
            if text.isEmpty { continue }
            if line.first?.isWhitespace == true && !lines.isEmpty {
                explanation.append(text)
            } else {
                finishLine()
                lines.append(text)
            }
        }
        finishLine()
        return lines.joined(separator: "; ")
    }
}

/// The fields of a server error that callers act on.
struct LibPQServerError {
    var sqlState: String?
    var message: String
    var detail: String?
}
