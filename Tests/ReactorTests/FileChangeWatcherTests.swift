import Foundation
import Reactor
import Synchronization
import TestSupport
import XCTest

/// The change watcher reports a write to a watched file at once, then sleeps for its quiet
/// period and reports what came during it once, when it ends.
final class FileChangeWatcherTests: XCTestCase {
    private var runner: LoopThread!
    private var directory: String!

    override func setUp() {
        runner = LoopThread()
        directory = NSTemporaryDirectory() + "file-change-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        runner.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func append(_ name: String) {
        let path = directory + "/" + name
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = FileHandle(forWritingAtPath: path)!
        handle.seekToEndOfFile()
        handle.write(Data("x".utf8))
        try? handle.close()
    }

    /// Starts a watcher of `jobs.db` on the loop; each report's time goes into `reports`.
    private func watch(quietPeriod: Double, reports: Reports) -> ResultBox<FileChangeWatcher> {
        let box = ResultBox<FileChangeWatcher>()
        runner.sync { [loop = runner.loop, directory = directory!] in
            box.value = FileChangeWatcher(
                loop: loop, directory: directory, names: ["jobs.db"], quietPeriod: quietPeriod
            ) {
                reports.times.withLock { $0.append(Date()) }
            }
            box.value?.start()
        }
        XCTAssertNotNil(box.value, "inotify is unavailable here")
        return box
    }

    func testWritesDuringTheQuietPeriodAreReportedOnceWhenItEnds() {
        let reports = Reports()
        let box = watch(quietPeriod: 0.3, reports: reports)
        defer { runner.sync { box.value = nil } }
        append("other.log")  // not a watched name: never reported
        append("jobs.db")
        XCTAssertTrue(
            Wait.until(timeout: 10) { reports.times.withLock { $0.count } == 1 }, "the first write was not reported")
        for _ in 0..<5 { append("jobs.db") }
        XCTAssertTrue(
            Wait.until(timeout: 10) { reports.times.withLock { $0.count } >= 2 }, "writes in the quiet period were lost"
        )
        let times = reports.times.withLock { $0 }
        XCTAssertEqual(times.count, 2, "five writes in one quiet period must be one report")
        XCTAssertGreaterThanOrEqual(
            times[1].timeIntervalSince(times[0]), 0.29, "reported again before the quiet period ended")
    }

    func testAStoppedWatcherDoesNotWakeWhenItsQuietPeriodEnds() {
        let reports = Reports()
        let box = watch(quietPeriod: 0.1, reports: reports)
        defer { runner.sync { box.value = nil } }
        append("jobs.db")
        XCTAssertTrue(Wait.until(timeout: 10) { reports.times.withLock { $0.count } == 1 })
        runner.sync { box.value!.stop() }
        append("jobs.db")
        // Well past the quiet period, measured by the loop's own timer.
        let passed = Atomic<Bool>(false)
        let timer = ResultBox<TimerWatcher>()
        runner.sync { [loop = runner.loop] in
            timer.value = TimerWatcher(loop: loop) { passed.store(true, ordering: .relaxed) }
            timer.value!.schedule(after: 0.5)
        }
        XCTAssertTrue(Wait.until(timeout: 10) { passed.load(ordering: .relaxed) })
        runner.sync { timer.value = nil }
        XCTAssertEqual(reports.times.withLock { $0.count }, 1, "a stopped watcher reported a change")
    }
}

/// When each report came, shared with the loop's callback.
private final class Reports: Sendable {
    let times = Mutex<[Date]>([])
}
