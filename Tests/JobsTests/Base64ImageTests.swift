import Foundation
import XCTest

@testable import Jobs

/// `Base64Image.decode`, which decodes providers' `b64_json` on the writer threads.
final class Base64ImageTests: XCTestCase {
    func testDecodesLikeFoundationForEveryLengthAndPadding() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<40 {
            let bytes = Data((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let text = bytes.base64EncodedString()
            XCTAssertEqual(
                Base64Image.decode(text), length == 0 ? Data(base64Encoded: text) : bytes, "length \(length)")
        }
    }

    func testFallsBackToTheLenientReadingForLineBreaksAndRefusesGarbage() {
        let bytes = Data((0..<200).map { UInt8($0) })
        let wrapped = bytes.base64EncodedString(options: .lineLength64Characters)
        XCTAssertTrue(wrapped.contains("\r\n"))
        XCTAssertEqual(Base64Image.decode(wrapped), bytes)
        XCTAssertNil(Base64Image.decode("not base64 at all!"))
    }
}
