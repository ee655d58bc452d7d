import Foundation

/// One `Range: bytes=…` request against a file of a known size (RFC 9110 §14.1.2): what a
/// `<video>` sends to seek. Only a single range is served; a list asks for the first.
enum ByteRange: Equatable {
    /// No Range header, or one this server ignores (not `bytes`): send the whole file.
    case whole
    /// Send these bytes with 206 Partial Content.
    case part(ClosedRange<Int>)
    /// Nothing of the file is in the range: 416, with `Content-Range: bytes */size`.
    case unsatisfiable

    static func parse(_ header: String?, size: Int) -> ByteRange {
        guard let header else { return .whole }
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes=") else { return .whole }
        let first = trimmed.dropFirst(6).split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first, let dash = first.firstIndex(of: "-") else { return .unsatisfiable }
        let startText = first[..<dash]
        let endText = first[first.index(after: dash)...]
        if startText.isEmpty {
            // bytes=-N: the last N bytes.
            guard let suffix = Int(endText), suffix > 0, size > 0 else { return .unsatisfiable }
            return .part(max(size - suffix, 0)...(size - 1))
        }
        guard let start = Int(startText), start >= 0 else { return .unsatisfiable }
        guard start < size else { return .unsatisfiable }
        if endText.isEmpty { return .part(start...(size - 1)) }
        guard let end = Int(endText), end >= start else { return .unsatisfiable }
        return .part(start...min(end, size - 1))
    }
}
