/// `/files/` URLs of files beneath OUTPUT_DIR: `OUTPUT_DIR/<folder>/<name>` is served as
/// `/files/<folder>/<name>` (a job's outputs, or `uploads/`), each segment percent-encoded.
enum FileURL {
    /// The URL of `path`, or nil when it is not exactly two levels beneath `root` (absolute).
    static func url(for path: String, under root: String) -> String? {
        guard path.hasPrefix(root + "/") else { return nil }
        let segments = path.dropFirst(root.count + 1).split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count == 2, segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else { return nil }
        return "/files/" + segments.map { encode(String($0)) }.joined(separator: "/")
    }

    /// Every byte but unreserved characters percent-encoded.
    static func encode(_ segment: String) -> String {
        var result = ""
        for byte in segment.utf8 {
            let unreserved =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            if unreserved {
                result.unicodeScalars.append(UnicodeScalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                result += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return result
    }

    /// Percent-decodes one segment; nil when an escape is malformed or the bytes are not UTF-8.
    static func decode(_ segment: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(segment.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
