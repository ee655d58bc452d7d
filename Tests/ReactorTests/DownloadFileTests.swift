import Dispatch
import Foundation
import XCTest

@testable import Reactor

/// The accounting behind a download's pause: bytes appended but not yet written count against
/// the high-water mark at once, and `whenDrained` fires once the writes catch up.
final class DownloadFileTests: XCTestCase {
    /// A FIFO opened for reading that nobody reads yet, so writes to it block once its pipe is
    /// full: a stalled disk. Removed when the test ends.
    private func blockedFIFO() -> (path: String, reader: Int32) {
        let path = NSTemporaryDirectory() + "download-file-\(UUID().uuidString)"
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        XCTAssertGreaterThanOrEqual(reader, 0)
        addTeardownBlock {
            close(reader)
            unlink(path)
        }
        return (path, reader)
    }

    func testFallsBehindPastTheHighWaterMarkAndSaysWhenItHasCaughtUp() throws {
        let (path, reader) = blockedFIFO()
        let file = DownloadFile(path: path, shared: WriteBehindBudget(highWater: 64 << 20, lowWater: 32 << 20))
        let chunk = [UInt8](repeating: 0x61, count: 64 << 10)

        var appended = 0
        while !file.isBehind && appended <= 2 * DownloadFile.highWater {
            chunk.withUnsafeBytes { file.append($0) }
            appended += chunk.count
        }
        XCTAssertTrue(file.isBehind, "1 MiB waiting for a blocked file must count as behind")
        XCTAssertGreaterThan(appended, DownloadFile.highWater)
        let drained = DispatchSemaphore(value: 0)
        file.whenDrained { drained.signal() }
        XCTAssertEqual(drained.wait(timeout: .now()), .timedOut, "nothing was written yet")

        _ = fcntl(reader, F_SETFL, fcntl(reader, F_GETFL) & ~O_NONBLOCK)
        let finished = DispatchSemaphore(value: 0)
        let failure = LockedFailure()
        var received = 0
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var drainedSeen = false
        while received < appended {
            let count = read(reader, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            received += count
            if !drainedSeen { drainedSeen = drained.wait(timeout: .now()) == .success }
        }
        file.finish { message in
            failure.set(message)
            finished.signal()
        }
        while read(reader, &buffer, buffer.count) > 0 {}  // end of file once finish closes it
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
        XCTAssertTrue(drainedSeen || drained.wait(timeout: .now() + 10) == .success, "whenDrained never fired")
        XCTAssertFalse(file.isBehind)
        XCTAssertEqual(received, appended)
        XCTAssertNil(failure.get())
    }
}

extension DownloadFileTests {
    /// Each file alone stays under its own mark here, but together they hold more than the
    /// budget they share: then every download is behind, one with nothing waiting of its own
    /// too, and it is told to go on only once the others' bytes are written.
    func testDownloadsTogetherOverTheirSharedBudgetAreAllBehind() throws {
        let (path, reader) = blockedFIFO()
        let shared = WriteBehindBudget(highWater: 256 << 10, lowWater: 128 << 10)
        let stalled = DownloadFile(path: path, shared: shared)
        let idle = DownloadFile(path: path + ".unused", shared: shared)
        defer { unlink(path + ".unused") }
        let chunk = [UInt8](repeating: 0x62, count: 16 << 10)

        var appended = 0
        while !shared.isOver {
            chunk.withUnsafeBytes { stalled.append($0) }
            appended += chunk.count
        }
        XCTAssertLessThan(appended, DownloadFile.highWater, "each file alone stays under its own mark")
        XCTAssertTrue(stalled.isBehind)
        XCTAssertTrue(idle.isBehind, "a download with nothing of its own waiting must still pause")
        let resumed = DispatchSemaphore(value: 0)
        idle.whenDrained { resumed.signal() }
        XCTAssertEqual(resumed.wait(timeout: .now()), .timedOut, "nothing was written yet")

        _ = fcntl(reader, F_SETFL, fcntl(reader, F_GETFL) & ~O_NONBLOCK)
        var received = 0
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while received < appended {
            let count = read(reader, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            received += count
        }
        XCTAssertEqual(resumed.wait(timeout: .now() + 10), .success, "the idle download was never resumed")
        XCTAssertFalse(idle.isBehind)
        let finished = DispatchSemaphore(value: 0)
        stalled.finish { _ in finished.signal() }
        idle.discard()
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(shared.pending, 0)
    }
}

private final class LockedFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var message: String?
    func set(_ value: String?) { lock.withLock { message = value } }
    func get() -> String? { lock.withLock { message } }
}
