import Dispatch
import Foundation
import XCTest

@testable import Reactor

/// The accounting behind a download's pause: bytes appended but not yet written count against
/// the high-water mark at once, and `whenDrained` fires once the writes catch up.
final class DownloadFileTests: XCTestCase {
    /// A FIFO opened for reading that nobody reads yet, its pipe already full, so the first
    /// write to it blocks: a stalled disk. Full from the start, because a pipe that still had
    /// room would take some bytes and make the counts depend on when the writer thread ran.
    /// `prefilled` bytes come out of it before the file's. The filling end stays open until the
    /// test ends, so reading never meets an end of file before the download has opened its own.
    /// Removed when the test ends.
    private func blockedFIFO() -> (path: String, reader: Int32, prefilled: Int) {
        let path = NSTemporaryDirectory() + "download-file-\(UUID().uuidString)"
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        XCTAssertGreaterThanOrEqual(reader, 0)
        let filler = open(path, O_WRONLY | O_NONBLOCK)
        XCTAssertGreaterThanOrEqual(filler, 0)
        var prefilled = 0
        for size in [4096, 1] {  // pages, then any room left in the last one
            let bytes = [UInt8](repeating: 0x2E, count: size)
            while case let written = write(filler, bytes, size), written > 0 { prefilled += written }
        }
        addTeardownBlock {
            close(filler)
            close(reader)
            unlink(path)
        }
        return (path, reader, prefilled)
    }

    /// Reads `bytes` from the FIFO (blocking now), calling `afterEachRead` between reads;
    /// returns how many arrived before an end of file.
    private func drain(_ reader: Int32, bytes: Int, afterEachRead: () -> Void = {}) -> Int {
        _ = fcntl(reader, F_SETFL, fcntl(reader, F_GETFL) & ~O_NONBLOCK)
        var received = 0
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while received < bytes {
            let count = read(reader, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            received += count
            afterEachRead()
        }
        return received
    }

    func testFallsBehindPastTheHighWaterMarkAndSaysWhenItHasCaughtUp() throws {
        let (path, reader, prefilled) = blockedFIFO()
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

        let finished = DispatchSemaphore(value: 0)
        let failure = LockedFailure()
        var drainedSeen = false
        let received = drain(reader, bytes: prefilled + appended) {
            if !drainedSeen { drainedSeen = drained.wait(timeout: .now()) == .success }
        }
        file.finish { message in
            failure.set(message)
            finished.signal()
        }
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
        XCTAssertTrue(drainedSeen || drained.wait(timeout: .now() + 10) == .success, "whenDrained never fired")
        XCTAssertFalse(file.isBehind)
        XCTAssertEqual(received, prefilled + appended)
        XCTAssertNil(failure.get())
    }
}

extension DownloadFileTests {
    /// Each file alone stays under its own mark here, but together they hold more than the
    /// budget they share: then every download is behind, one with nothing waiting of its own
    /// too, and it is told to go on only once the others' bytes are written.
    func testDownloadsTogetherOverTheirSharedBudgetAreAllBehind() throws {
        let (path, reader, prefilled) = blockedFIFO()
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

        let received = drain(reader, bytes: prefilled + appended)
        XCTAssertEqual(resumed.wait(timeout: .now() + 10), .success, "the idle download was never resumed")
        XCTAssertFalse(idle.isBehind)
        let finished = DispatchSemaphore(value: 0)
        stalled.finish { _ in finished.signal() }
        idle.discard()
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(received, prefilled + appended)
        XCTAssertEqual(shared.pending, 0)
    }
}

extension DownloadFileTests {
    /// A download paused for its own file goes on once that file is written, even while the
    /// others keep the shared count between its marks (the normal state on a slow disk): it
    /// waits for the shared low mark only when the shared budget is what is over.
    func testADownloadPausedForItsOwnFileDoesNotWaitForTheOthersToDrain() throws {
        let (path, reader, prefilled) = blockedFIFO()
        let shared = WriteBehindBudget(highWater: 8 << 20, lowWater: 1 << 20)
        shared.add(4 << 20)  // other downloads' bytes, between the shared marks throughout
        defer { shared.remove(4 << 20) }
        let file = DownloadFile(path: path, shared: shared)
        let chunk = [UInt8](repeating: 0x63, count: 64 << 10)
        var appended = 0
        while !file.isBehind {
            chunk.withUnsafeBytes { file.append($0) }
            appended += chunk.count
        }
        XCTAssertFalse(shared.isOver, "paused for its own file, not for the shared budget")
        let resumed = DispatchSemaphore(value: 0)
        file.whenDrained { resumed.signal() }

        let received = drain(reader, bytes: prefilled + appended)
        XCTAssertEqual(resumed.wait(timeout: .now() + 10), .success, "it waited for the others to drain")
        XCTAssertGreaterThan(shared.pending, shared.lowWater)
        let finished = DispatchSemaphore(value: 0)
        file.finish { _ in finished.signal() }
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
    }
}

extension DownloadFileTests {
    /// A retry downloads to the same temporary name; its writes must queue behind the failed
    /// attempt's removal of that name, so both use one queue.
    func testDownloadsToOnePathShareAQueue() {
        let budget = WriteBehindBudget(highWater: 1 << 20, lowWater: 1 << 19)
        let path = NSTemporaryDirectory() + "download-queue-\(UUID().uuidString)"
        for _ in 0..<8 {
            XCTAssertTrue(
                DownloadFile(path: path, shared: budget).queue === DownloadFile(path: path, shared: budget).queue)
        }
    }

    /// A download's bytes are written on a thread of its own below the loop's priority (nice 10),
    /// so the loop gets a core first when disk writes compete with it; Dispatch's shared threads
    /// (the media pool, the output writers) and the caller keep theirs.
    func testDownloadsAreWrittenOnThreadsBelowTheLoopsPriorityAndNoOtherThreadChanges() {
        let budget = WriteBehindBudget(highWater: 1 << 20, lowWater: 1 << 19)
        let file = DownloadFile(path: NSTemporaryDirectory() + "download-priority-\(UUID().uuidString)", shared: budget)
        let lane = LockedNiceness()
        let pool = LockedNiceness()
        let done = DispatchSemaphore(value: 0)
        file.queue.async {
            lane.set(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0))
            done.signal()
        }
        DispatchQueue.global().async {
            pool.set(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0))
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(lane.get(), ThreadPriority.lowered)
        XCTAssertEqual(pool.get(), 0, "a shared Dispatch thread was lowered")
        XCTAssertEqual(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0), 0, "the caller's priority changed")
    }
}

private final class LockedNiceness: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int32?
    func set(_ new: Int32) { lock.withLock { value = new } }
    func get() -> Int32? { lock.withLock { value } }
}

private final class LockedFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var message: String?
    func set(_ value: String?) { lock.withLock { message = value } }
    func get() -> String? { lock.withLock { message } }
}
