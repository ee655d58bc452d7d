import Foundation

/// Decodes the base64 images providers put in their answers (`b64_json`).
///
/// Strict standard base64 (RFC 4648 §4, padded) is decoded here with a lookup table, four
/// characters at a time; Foundation's decoder took about 7 % of the worker's instructions per
/// image job (bench/RESULTS.md). Anything else — line breaks, URL-safe letters, missing
/// padding — goes to Foundation's lenient decoder, as before. Plain functions; any thread.
public enum Base64Image {
    /// The bytes of `text`, or nil when it is not base64 even leniently read.
    public static func decode(_ text: String) -> Data? {
        var text = text
        if let strict = text.withUTF8({ decodeStrict($0) }) { return strict }
        return Data(base64Encoded: text, options: .ignoreUnknownCharacters)
    }

    private static let invalid: UInt8 = 0xFF

    /// Letter → 6-bit value; `invalid` for everything else (including "=").
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (value, letter) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(letter)] = UInt8(value)
        }
        return table
    }()

    static func decodeStrict(_ input: UnsafeBufferPointer<UInt8>) -> Data? {
        guard !input.isEmpty, input.count % 4 == 0 else { return nil }
        var padding = 0
        if input[input.count - 1] == UInt8(ascii: "=") { padding += 1 }
        if input[input.count - 2] == UInt8(ascii: "=") { padding += 1 }
        let count = input.count / 4 * 3 - padding
        guard count > 0, let output = malloc(count)?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let decoded = table.withUnsafeBufferPointer { table -> Bool in
            var written = 0
            var position = 0
            // Whole groups first; the last group may carry the padding.
            let wholeGroups = padding > 0 ? input.count - 4 : input.count
            while position < wholeGroups {
                let a = table[Int(input[position])]
                let b = table[Int(input[position + 1])]
                let c = table[Int(input[position + 2])]
                let d = table[Int(input[position + 3])]
                if (a | b | c | d) & 0xC0 != 0 { return false }
                output[written] = a << 2 | b >> 4
                output[written + 1] = b << 4 | c >> 2
                output[written + 2] = c << 6 | d
                written += 3
                position += 4
            }
            guard padding > 0 else { return true }
            let a = table[Int(input[position])]
            let b = table[Int(input[position + 1])]
            if (a | b) & 0xC0 != 0 { return false }
            output[written] = a << 2 | b >> 4
            if padding == 1 {
                let c = table[Int(input[position + 2])]
                if c & 0xC0 != 0 { return false }
                output[written + 1] = b << 4 | c >> 2
            }
            return true
        }
        guard decoded else {
            free(output)
            return nil
        }
        return Data(bytesNoCopy: output, count: count, deallocator: .free)
    }
}
