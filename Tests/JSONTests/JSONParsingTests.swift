import Foundation
import XCTest

@testable import JSON

/// The byte-level JSON parser and writer against Foundation's decoder and encoder, which they
/// replaced on the hot path: same values in, same text out, same documents refused.
final class JSONParsingTests: XCTestCase {
    private func foundationDecode(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    private func foundationEncode(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }

    private let validDocuments = [
        #"{"created":1713833628,"data":[{"b64_json":"iVBORw0KGgo=","revised_prompt":"a fox"}],"usage":{"total_tokens":50}}"#,
        #"  [1, -2, 3.25, -0.5, 1e3, 2E-2, 0, 12345678901234567890, 9007199254740993]  "#,
        #"{"escapes":"quote \" backslash \\ slash \/ \b\f\n\r\t tab","unicode":"caf\u00e9 \ud83d\ude00 ünï"}"#,
        #"{"nested":{"a":[[],{},[{"b":null}]],"t":true,"f":false},"empty":""}"#,
        #""just a string""#, "42", "null", "true", #"{"a":1,"a":2}"#, #"{"trailing":[1,2,],}"#,
        #"["\\", "\\\"", "a\\\\\"b"]"#,
        #"["a long plain run before the escape\n", "ünïcödé before \u00e9 and after"]"#,
    ]

    func testParsesWhatFoundationParsesToTheSameValues() throws {
        for text in validDocuments {
            XCTAssertEqual(try JSONValue.parse(text), try foundationDecode(text), text)
            XCTAssertEqual(try JSONValue.parse(Data(text.utf8)), try foundationDecode(text), text)
        }
        XCTAssertEqual(try JSONValue.parse(#"["\ud83d\ude00"]"#), ["😀"])
        XCTAssertEqual(try JSONValue.parse("-0").doubleValue?.sign, .minus)
    }

    func testRefusesMalformedDocumentsAndSaysWhere() {
        let invalid: [(String, String)] = [
            ("", "unexpected end of the text at byte 0"),
            ("not json", "unexpected character 'n' at byte 0"),
            (#"{"a":1,,}"#, "expected a quoted key at byte 7"),
            ("[1,2", "unexpected end of the text in an array at byte 4"),
            (#"{"a" 1}"#, "expected ':' after a key at byte 5"),
            (#"{"a":1} x"#, "unexpected text after the JSON value at byte 8"),
            (#""abc"#, "unterminated string at byte 4"),
            ("\"tab\tin string\"", "unescaped control character byte 0x9 in a string at byte 4"),
            ("\"seventeen bytes..\u{01}\"", "unescaped control character byte 0x1 in a string at byte 18"),
            (#""bad \x escape""#, "an unknown escape \\x at byte 5"),
            (#""\ud83d alone""#, "a \\u escape with an unpaired surrogate at byte 7"),
            (#""\u12""#, "a \\u escape without four hex digits at byte 3"),
            ("01", "a number with a leading zero at byte 0"),
            ("1.", "a number without digits after '.' at byte 2"),
            ("-", "a number without digits at byte 1"),
            ("1e999", "a number too large for a double at byte 0"),
            ("[NaN]", "unexpected character 'N' at byte 1"),
            ("tru", "unexpected character 't' at byte 0"),
        ]
        for (text, message) in invalid {
            XCTAssertThrowsError(try JSONValue.parse(text), text) { error in
                XCTAssertEqual("\(error)", message, text)
            }
            XCTAssertThrowsError(try foundationDecode(text), "Foundation agrees that \(text) is not JSON")
        }
        XCTAssertThrowsError(try JSONValue.parse(Data([0x22, 0xFF, 0xFE, 0x22]))) { error in
            XCTAssertEqual("\(error)", "a string that is not valid UTF-8 at byte 1")
        }
    }

    /// Long strings are scanned sixteen bytes at a time, and all-ASCII ones skip the UTF-8
    /// check: a byte above 0x7F anywhere in them must still be checked, not repaired.
    func testLongStringsWithBytesAboveASCIIAreStillCheckedAsUTF8() throws {
        let plain = [UInt8](repeating: UInt8(ascii: "A"), count: 40)
        for position in [3, 20, 38] {
            var invalid = plain
            invalid[position] = 0xFF
            XCTAssertThrowsError(try JSONValue.parse(Data([0x22] + invalid + [0x22])), "0xFF at \(position)") { error in
                XCTAssertEqual("\(error)", "a string that is not valid UTF-8 at byte 1")
            }
            var accented = plain
            accented.replaceSubrange(position..<position + 2, with: Array("é".utf8))
            let text = String(decoding: accented, as: UTF8.self)
            XCTAssertEqual(try JSONValue.parse(Data([0x22] + accented + [0x22])), .string(text))
        }
        XCTAssertEqual(try JSONValue.parse(Data([0x22] + plain + [0x22])), .string(String(repeating: "A", count: 40)))
    }

    func testRefusesNestingDeeperThanTheLimitInsteadOfOverflowingTheStack() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertThrowsError(try JSONValue.parse(deep)) { error in
            XCTAssertEqual("\(error)", "nested deeper than 512 levels at byte 512")
        }
        let allowed = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        XCTAssertNoThrow(try JSONValue.parse(allowed))
    }

    func testWritesTheSameTextAsFoundationsSortedEncoder() throws {
        let values: [JSONValue] =
            try validDocuments.map { try JSONValue.parse($0) } + [
                ["files": ["/out/1/image-1.png"], "provider": "openai", "provider_seconds": 0.123, "Zeta": 1, "_x": 2],
                [
                    "control": .string("a\u{01}b\u{1F}c\u{7F}"), "big": 1e20, "small": 1e-7, "neg": -42, "frac": 2.5,
                    "digits": [
                        0, 7, 10, -10, 123_456_789, 999_999_999_999_999, -999_999_999_999_999, 1_000_000_000_000_000,
                    ],
                ],
                ["url": "https://cdn.example/a/b.png?x=1&y=2", "emoji": "😀", "empty": [:], "none": []],
            ]
        for value in values {
            XCTAssertEqual(value.jsonString(), foundationEncode(value))
            XCTAssertEqual(try JSONValue.parse(value.jsonString()), value, "round trip")
        }
        XCTAssertEqual(JSONValue.number(.nan).jsonString(), "null")
    }

    func testLargeBase64AnswerParsesIntact() throws {
        let payload = String(repeating: "iVBORw0KGgoAAAANSUhEUgAA+/==", count: 2_000)
        let text = #"{"data":[{"b64_json":"\#(payload)"}]}"#
        XCTAssertEqual(try JSONValue.parse(text)["data"]?[0]?["b64_json"]?.stringValue, payload)
    }
}

/// The two strictness modes: the worker forgives what JSONDecoder forgave in `params`; the
/// mock providers refuse what a real API refuses.
final class JSONStrictnessTests: XCTestCase {
    func testTrailingCommasAreAcceptedLenientlyAndRefusedStrictly() throws {
        XCTAssertEqual(try JSONValue.parse(#"{"a":[1,2,],}"#), ["a": [1, 2]])
        XCTAssertThrowsError(try JSONValue.parse(#"{"a":1,}"#, options: .strict)) { error in
            XCTAssertEqual("\(error)", "a trailing ',' before '}' at byte 7")
        }
        XCTAssertThrowsError(try JSONValue.parse("[1,]", options: .strict)) { error in
            XCTAssertEqual("\(error)", "a trailing ',' before ']' at byte 3")
        }
        XCTAssertEqual(try JSONValue.parse(#"{"a":[1,2]}"#, options: .strict), ["a": [1, 2]])
    }

    func testDuplicateKeysKeepTheFirstLenientlyAndTheLastStrictly() throws {
        XCTAssertEqual(try JSONValue.parse(#"{"a":1,"a":2}"#), ["a": 1])
        XCTAssertEqual(try JSONValue.parse(#"{"a":1,"a":2}"#, options: .strict), ["a": 2])
        XCTAssertEqual(try JSONValue.parse(Array(#"{"a":1,"a":2}"#.utf8), options: .strict), ["a": 2])
    }

    func testWrittenTextHasSortedKeysWhateverTheInsertionOrder() {
        var object: [String: JSONValue] = [:]
        for key in ["zeta", "alpha", "mid"] { object[key] = .int(key.count) }
        XCTAssertEqual(JSONValue.object(object).jsonString(), #"{"alpha":5,"mid":3,"zeta":4}"#)
        XCTAssertEqual(JSONValue.object(object).jsonBytes(), Array(#"{"alpha":5,"mid":3,"zeta":4}"#.utf8))
    }
}
