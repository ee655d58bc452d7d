import XCTest

@testable import Reactor

/// The download pieces' buffers are handed out again once written, and no more are kept than
/// the budget lets wait.
final class DownloadPiecesTests: XCTestCase {
    func testAWrittenPiecesBufferIsHandedOutAgainHoldingTheNewBytes() {
        let pieces = DownloadPieces(kept: 4)
        let first = [UInt8](repeating: 0x61, count: 100).withUnsafeBytes { pieces.copy($0) }
        XCTAssertEqual(Array(first.bytes), [UInt8](repeating: 0x61, count: 100))
        let address = first.buffer.baseAddress
        pieces.giveBack(first)
        XCTAssertEqual(pieces.keptCount, 1)
        let second = [UInt8](repeating: 0x62, count: 7).withUnsafeBytes { pieces.copy($0) }
        XCTAssertEqual(second.buffer.baseAddress, address, "a kept buffer was not handed out again")
        XCTAssertEqual(Array(second.bytes), [UInt8](repeating: 0x62, count: 7))
        XCTAssertEqual(pieces.keptCount, 0)
        pieces.giveBack(second)
    }

    func testNoMoreBuffersAreKeptThanAllowed() {
        let pieces = DownloadPieces(kept: 2)
        let taken = (0..<5).map { _ in
            [UInt8](repeating: 1, count: DownloadPieces.size).withUnsafeBytes { pieces.copy($0) }
        }
        XCTAssertEqual(Set(taken.map { UInt(bitPattern: $0.buffer.baseAddress) }).count, 5)
        for piece in taken { pieces.giveBack(piece) }
        XCTAssertEqual(pieces.keptCount, 2, "buffers past the cap must be freed, not kept")
    }

    /// A run larger than one piece (curl hands 16 KiB at most, but nothing relies on it) is
    /// written whole, in order.
    func testADownloadFileWritesARunLargerThanAPieceWholeAndInOrder() throws {
        let path = NSTemporaryDirectory() + "download-pieces-\(UUID().uuidString)"
        defer { unlink(path) }
        let file = DownloadFile(path: path, shared: WriteBehindBudget(highWater: 64 << 20, lowWater: 32 << 20))
        let bytes = (0..<(DownloadPieces.size * 3 + 123)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        bytes.withUnsafeBytes { file.append($0) }
        let finished = DispatchSemaphore(value: 0)
        file.finish { _ in finished.signal() }
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data(bytes))
    }
}
