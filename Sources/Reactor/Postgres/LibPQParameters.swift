import CLibPQ
import Foundation

/// Statement parameters in the form `PQsendQueryParams` takes: parallel arrays of type OIDs,
/// value pointers, lengths and formats.
///
/// The mapping, chosen so the server's type inference still works where it matters:
/// - `.integer` → text, typed `int8`; `.real` → text, typed `float8` (so `SELECT $1` reads
///   back as a number, and comparisons with int4/float4 columns use PostgreSQL's cross-type
///   operators);
/// - `.text` → text, type left to the server (OID 0), so one string parameter serves a
///   `text`, `timestamptz`, `jsonb` or enum column alike;
/// - `.blob` → binary, typed `bytea` (no escaping, no hex doubling);
/// - `.null` → SQL NULL, type left to the server.
struct LibPQParameters {
    private var types: [Oid] = []
    private var encoded: [Data?] = []
    private var formats: [Int32] = []

    init(_ values: [SQLiteValue]) {
        for value in values {
            switch value {
            case .null: append(type: 0, nil, format: 0)
            case .integer(let number): append(type: PGTypeOID.int8, Data(String(number).utf8), format: 0)
            case .real(let number): append(type: PGTypeOID.float8, Data(Self.text(of: number).utf8), format: 0)
            case .text(let text): append(type: 0, Data(text.utf8), format: 0)
            case .blob(let data): append(type: PGTypeOID.bytea, data, format: 1)
            }
        }
    }

    /// The parameters' type OIDs as text: with the SQL, what a prepared statement is kept by
    /// (the types are fixed when it is prepared).
    var typeSignature: String { types.map { String($0) }.joined(separator: ",") }

    private mutating func append(type: Oid, _ value: Data?, format: Int32) {
        types.append(type)
        encoded.append(value)
        formats.append(format)
    }

    /// PostgreSQL's spellings of the values Swift prints as "inf" and "nan".
    private static func text(of number: Double) -> String {
        if number.isNaN { return "NaN" }
        if number.isInfinite { return number < 0 ? "-Infinity" : "Infinity" }
        return String(number)
    }

    /// Calls `body` with the arrays, valid only during the call. Text values are copied with
    /// a terminating NUL (libpq reads text parameters as C strings); an empty blob still gets
    /// a non-NULL pointer, since NULL would mean SQL NULL.
    func withArrays<R>(
        _ body: (
            Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?,
            UnsafePointer<Int32>?
        ) -> R
    ) -> R {
        let buffers = encoded.map { value -> UnsafeMutablePointer<CChar>? in
            guard let value else { return nil }
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: value.count + 1)
            buffer.initialize(repeating: 0, count: value.count + 1)
            value.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress {
                    UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: value.count)
                }
            }
            return buffer
        }
        defer { for buffer in buffers { buffer?.deallocate() } }
        let values = buffers.map { $0.map { UnsafePointer<CChar>($0) } }
        let lengths = encoded.map { Int32($0?.count ?? 0) }
        return body(Int32(types.count), types, values, lengths, formats)
    }
}

/// The type OIDs (`pg_type.oid`, fixed since PostgreSQL 7) that parameters and results use.
enum PGTypeOID {
    static let bool: Oid = 16
    static let bytea: Oid = 17
    static let int8: Oid = 20
    static let int2: Oid = 21
    static let int4: Oid = 23
    static let oid: Oid = 26
    static let float4: Oid = 700
    static let float8: Oid = 701
    static let numeric: Oid = 1700
}
