import Foundation

/// Splits bytes read from a pipe into lines, keeping a partial last line for the next read.
/// A plain value; used on the pool thread that reads the child's pipes.
struct LineSplitter {
    private var pending: [UInt8] = []
    /// A line longer than this is cut, so a child writing without newlines cannot grow memory.
    static let longestLine = 64 * 1024

    /// Appends `bytes` and returns the complete lines they finish, without newline characters.
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                lines.append(Self.text(pending))
                pending.removeAll(keepingCapacity: true)
            } else if pending.count < Self.longestLine {
                pending.append(byte)
            }
        }
        return lines
    }

    /// The partial line left at end of file, if any.
    mutating func finish() -> String? {
        defer { pending.removeAll() }
        return pending.isEmpty ? nil : Self.text(pending)
    }

    private static func text(_ bytes: [UInt8]) -> String {
        var line = String(decoding: bytes, as: UTF8.self)
        if line.hasSuffix("\r") { line.removeLast() }
        return line
    }
}

/// The last few kilobytes a child wrote to stderr, for the `error` of a failed job.
/// A plain value; used on the pool thread that reads the child's pipes.
struct OutputTail {
    private var bytes: [UInt8] = []
    private let limit: Int

    init(limit: Int = 16 * 1024) { self.limit = limit }

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: chunk)
        if bytes.count > 2 * limit { bytes.removeFirst(bytes.count - limit) }
    }

    /// The last `count` non-empty lines, joined with newlines (a carriage return, as in a
    /// redrawn status line, ends a line too).
    func lastLines(_ count: Int) -> String {
        let text = String(decoding: bytes.suffix(limit), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.suffix(count).joined(separator: "\n")
    }
}
