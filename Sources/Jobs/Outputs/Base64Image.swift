import Foundation

/// Decodes the base64 images providers put in their answers (`b64_json`).
///
/// Strict standard base64 (RFC 4648 §4, padded) is decoded here with a lookup table, four
/// characters at a time, one pass and one allocation; Foundation's decoder validates and copies
/// more than that. Anything else — line breaks, URL-safe letters, missing padding — goes to
/// Foundation's lenient decoder. Plain functions; any thread.
public enum Base64Image {
    /// The bytes of `text`, or nil when it is not base64 even leniently read.
    public static func decode(_ text: String) -> Data? {
        var text = text
        if let strict = text.withUTF8({ decodeStrict($0) }) { return strict }
        return Data(base64Encoded: text, options: .ignoreUnknownCharacters)
    }

    /// Bit 24 marks a byte that is not a base64 letter (including "=").
    private static let invalid: UInt32 = 1 << 24

    /// Four tables of 256 entries, one per position in a group of four letters, each holding
    /// the letter's six bits already moved to where they land in the group's three output
    /// bytes (little-endian): decoding a group is four lookups and three ORs.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: invalid, count: 4 * 256)
        for (value, letter) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            let v = UInt32(value)
            let c = Int(letter)
            tables[c] = v << 2
            tables[256 + c] = v >> 4 | (v & 0x0F) << 12
            tables[512 + c] = (v >> 2) << 8 | (v & 0x03) << 22
            tables[768 + c] = v << 16
        }
        return tables
    }()

    static func decodeStrict(_ input: UnsafeBufferPointer<UInt8>) -> Data? {
        guard !input.isEmpty, input.count % 4 == 0 else { return nil }
        var padding = 0
        if input[input.count - 1] == UInt8(ascii: "=") { padding += 1 }
        if input[input.count - 2] == UInt8(ascii: "=") { padding += 1 }
        let count = input.count / 4 * 3 - padding
        // One spare byte: every group is stored as four bytes, the fourth overwritten by the next.
        guard count > 0, let output = malloc(input.count / 4 * 3 + 1) else { return nil }
        let decoded = tables.withUnsafeBufferPointer { table -> Bool in
            var written = 0
            var position = 0
            var bad: UInt32 = 0
            // The last group is decoded like the others with its "=" read as zero bits.
            let groups = input.count / 4
            for group in 0..<groups {
                let last = group == groups - 1
                let a = table[Int(input[position])]
                let b = table[256 + Int(input[position + 1])]
                let c = last && padding == 2 ? 0 : table[512 + Int(input[position + 2])]
                let d = last && padding >= 1 ? 0 : table[768 + Int(input[position + 3])]
                let word = a | b | c | d
                bad |= word
                output.storeBytes(of: word.littleEndian, toByteOffset: written, as: UInt32.self)
                written += 3
                position += 4
            }
            return bad & invalid == 0
        }
        guard decoded else {
            free(output)
            return nil
        }
        return Data(bytesNoCopy: output, count: count, deallocator: .free)
    }
}
