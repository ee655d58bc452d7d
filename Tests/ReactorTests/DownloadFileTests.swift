import Dispatch
import Foundation
import XCTest

@testable import Reactor

/// The accounting behind a download's pause: bytes appended but not yet written count against
/// the high-water mark at once, and `whenDrained` fires once the writes catch up.
final class DownloadFileTests: XCTestCase {
    func testFallsBehindPastTheHighWaterMarkAndSaysWhenItHasCaughtUp() throws {
        let path = NSTemporaryDirectory() + "download-file-\(UUID().uuidString)"
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        defer { unlink(path) }
        let reader = open(path, O_RDONLY | O_NONBLOCK)  // nobody reads yet: the writes block
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        let file = DownloadFile(path: path)
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

private final class LockedFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var message: String?
    func set(_ value: String?) { lock.withLock { message = value } }
    func get() -> String? { lock.withLock { message } }
}
