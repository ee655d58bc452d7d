import Foundation

/// Why a text is not JSON, with the byte offset where the parser gave up.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible, Equatable {
    public let reason: String
    public let offset: Int

    public var description: String { "\(reason) at byte \(offset)" }
}

/// How forgiving a parse is. The worker reads what JSONDecoder used to accept from people and
/// programs that write `params`; the mock providers read requests as strictly as a real API.
public struct JSONParsingOptions: Sendable {
    /// Accept `,` before `}` or `]` (JSONDecoder did; RFC 8259 and real APIs do not).
    public var allowsTrailingCommas: Bool
    /// Which of two equal keys in one object counts: the last (most parsers, real APIs) or the first
    /// (JSONDecoder, which the worker's earlier rows were written against).
    public var lastDuplicateKeyWins: Bool

    public init(allowsTrailingCommas: Bool, lastDuplicateKeyWins: Bool) {
        self.allowsTrailingCommas = allowsTrailingCommas
        self.lastDuplicateKeyWins = lastDuplicateKeyWins
    }

    /// What the worker accepts in `params` and provider answers.
    public static let lenient = JSONParsingOptions(allowsTrailingCommas: true, lastDuplicateKeyWins: false)
    /// RFC 8259 to the letter, as a provider's API reads a request body.
    public static let strict = JSONParsingOptions(allowsTrailingCommas: false, lastDuplicateKeyWins: true)
}

/// Reads JSON text (RFC 8259) into a `JSONValue`, straight from the bytes.
///
/// Provider answers carry 16 KB base64 images, so the cost is in long strings: the end of a
/// plain string is found with `memchr`, its bytes checked sixteen at a time, and `JSONValue`s
/// are built directly (no `Codable` boxes). Comments, NaN, leading zeros and invalid UTF-8 are
/// refused in every mode; trailing commas and duplicate keys follow `JSONParsingOptions`.
/// Nesting is limited to 512 levels, so hostile input ends in an error rather than a stack
/// overflow. Plain value; any thread.
struct JSONParser: ~Copyable {
    static let maximumDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private let options: JSONParsingOptions
    private var index = 0
    private var depth = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>, options: JSONParsingOptions) {
        self.bytes = bytes
        self.options = options
    }

    /// Parses one JSON document; whitespace may surround it, nothing else may follow it.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, options: JSONParsingOptions) throws(JSONSyntaxError)
        -> JSONValue
    {
        var parser = JSONParser(bytes, options: options)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    private func error(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(reason: reason, offset: index) }

    private var atEnd: Bool { index >= bytes.count }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard !atEnd else { throw error("unexpected end of the text") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected character \(describe(bytes[index]))")
        }
    }

    private func describe(_ byte: UInt8) -> String {
        (0x21..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    private mutating func parseLiteral(_ word: StaticString, _ value: JSONValue) throws(JSONSyntaxError) -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count, memcmp(bytes.baseAddress! + index, word.utf8Start, count) == 0 else {
            throw error("unexpected character \(describe(bytes[index]))")
        }
        index += count
        return value
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth) levels") }
        index += 1
        skipWhitespace()
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        var object: [String: JSONValue] = [:]
        if !atEnd && bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(object)
        }
        while true {
            guard !atEnd, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a quoted key") }
            let key = try parseString()
            skipWhitespace()
            guard !atEnd, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            if let first = object.updateValue(value, forKey: key), !options.lastDuplicateKeyWins { object[key] = first }
            skipWhitespace()
            guard !atEnd else { throw error("unexpected end of the text in an object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
                if !atEnd && bytes[index] == UInt8(ascii: "}") {
                    guard options.allowsTrailingCommas else { throw error("a trailing ',' before '}'") }
                    break
                }
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { throw error("expected ',' or '}' in an object") }
            break
        }
        index += 1
        depth -= 1
        return .object(object)
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        var array: [JSONValue] = []
        if !atEnd && bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(array)
        }
        while true {
            array.append(try parseValue())
            skipWhitespace()
            guard !atEnd else { throw error("unexpected end of the text in an array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
                if !atEnd && bytes[index] == UInt8(ascii: "]") {
                    guard options.allowsTrailingCommas else { throw error("a trailing ',' before ']'") }
                    break
                }
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else { throw error("expected ',' or ']' in an array") }
            break
        }
        index += 1
        depth -= 1
        return .array(array)
    }

    /// A string from the opening quote at `index`; leaves `index` after the closing quote.
    private mutating func parseString() throws(JSONSyntaxError) -> String {
        index += 1
        let start = index
        // The closing quote is the first quote not preceded by an escape; `memchr` finds
        // candidates at memory speed, then the bytes before it decide.
        var end = start
        while true {
            guard let quote = memchr(bytes.baseAddress! + end, Int32(UInt8(ascii: "\"")), bytes.count - end) else {
                index = bytes.count
                throw error("unterminated string")
            }
            end = bytes.baseAddress!.distance(to: quote.assumingMemoryBound(to: UInt8.self))
            var backslashes = 0
            while end - backslashes > start && bytes[end - backslashes - 1] == UInt8(ascii: "\\") { backslashes += 1 }
            if backslashes % 2 == 0 { break }
            end += 1
        }
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<end])
        let scan = Self.scan(raw)
        let text: String
        if let offset = scan.firstControlOrBackslash {
            guard raw[offset] == UInt8(ascii: "\\") else {
                index = start + offset
                throw error("unescaped control character \(describe(raw[offset])) in a string")
            }
            text = try unescape(raw, at: start)
        } else if scan.isASCII {
            // ASCII is valid UTF-8, so the validating initializer (a second pass) is skipped.
            text = String(decoding: raw, as: UTF8.self)
        } else {
            guard let valid = String(validating: raw, as: UTF8.self) else {
                index = start
                throw error("a string that is not valid UTF-8")
            }
            text = valid
        }
        index = end + 1
        return text
    }

    /// The offset of the first byte below 0x20 or backslash, and whether the bytes are all ASCII
    /// when there is none. Sixteen bytes per step with one SIMD compare as signed bytes, which
    /// catches control characters and bytes above 0x7F alike: a 16 KB base64 string is about
    /// 1,000 steps instead of 16,000. After a non-ASCII byte the rest goes byte by byte.
    private static func scan(_ raw: UnsafeBufferPointer<UInt8>) -> (firstControlOrBackslash: Int?, isASCII: Bool) {
        var offset = 0
        if let base = raw.baseAddress {
            let bytes = UnsafeRawPointer(base)
            let space = SIMD16<Int8>(repeating: 0x20)
            let backslash = SIMD16<Int8>(repeating: Int8(UInt8(ascii: "\\")))
            while offset + 16 <= raw.count {
                let chunk = bytes.loadUnaligned(fromByteOffset: offset, as: SIMD16<Int8>.self)
                if any((chunk .< space) .| (chunk .== backslash)) { break }
                offset += 16
            }
        }
        var isASCII = true
        while offset < raw.count {
            let byte = raw[offset]
            if byte < 0x20 || byte == UInt8(ascii: "\\") { return (offset, false) }
            if byte >= 0x80 { isASCII = false }
            offset += 1
        }
        return (nil, isASCII)
    }

    /// Decodes the escapes in a string's bytes (`offset` is where they start, for errors).
    private mutating func unescape(_ raw: UnsafeBufferPointer<UInt8>, at offset: Int) throws(JSONSyntaxError) -> String
    {
        var output: [UInt8] = []
        output.reserveCapacity(raw.count)
        var position = 0
        func fail(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(reason: reason, offset: offset + position) }
        func hex4(_ at: Int) throws(JSONSyntaxError) -> UInt32 {
            guard at + 4 <= raw.count else { throw fail("a \\u escape without four hex digits") }
            var value: UInt32 = 0
            for byte in raw[at..<at + 4] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw fail("a \\u escape without four hex digits")
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
        while position < raw.count {
            let byte = raw[position]
            if byte < 0x20 { throw fail("unescaped control character in a string") }
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                position += 1
                continue
            }
            guard position + 1 < raw.count else { throw fail("a string ending in a lone backslash") }
            let escaped = raw[position + 1]
            position += 2
            switch escaped {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escaped)
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(position)
                position += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one.
                    guard position + 6 <= raw.count, raw[position] == UInt8(ascii: "\\"),
                        raw[position + 1] == UInt8(ascii: "u")
                    else { throw fail("a \\u escape with an unpaired surrogate") }
                    let low = try hex4(position + 2)
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("a \\u escape with an unpaired surrogate") }
                    position += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw fail("a \\u escape with an unpaired surrogate")
                }
                output.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default:
                position -= 2
                throw fail("an unknown escape \\\(Character(Unicode.Scalar(escaped)))")
            }
        }
        guard let text = String(validating: output, as: UTF8.self) else {
            throw JSONSyntaxError(reason: "a string that is not valid UTF-8", offset: offset)
        }
        return text
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> Double {
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard !atEnd, isDigit(bytes[index]) else { throw error("a number without digits") }
        if bytes[index] == UInt8(ascii: "0"), index + 1 < bytes.count, isDigit(bytes[index + 1]) {
            throw error("a number with a leading zero")
        }
        skipDigits()
        if !atEnd && bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard !atEnd, isDigit(bytes[index]) else { throw error("a number without digits after '.'") }
            skipDigits()
        }
        if !atEnd && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            isInteger = false
            index += 1
            if !atEnd && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
            guard !atEnd, isDigit(bytes[index]) else { throw error("a number without digits in its exponent") }
            skipDigits()
        }
        let text = UnsafeBufferPointer(rebasing: bytes[start..<index])
        // Up to 15 digits is exact in a Double, so whole numbers skip the text conversion.
        if isInteger && text.count <= 16 {
            var value: Int64 = 0
            for byte in text where byte != UInt8(ascii: "-") { value = value * 10 + Int64(byte - UInt8(ascii: "0")) }
            if value < 1 << 53 { return text[0] == UInt8(ascii: "-") ? -Double(value) : Double(value) }
        }
        guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else {
            index = start
            throw error("a number too large for a double")
        }
        return value
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    private mutating func skipDigits() {
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }
}
