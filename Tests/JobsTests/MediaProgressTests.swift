import Foundation
import XCTest

@testable import Jobs

/// Reading ffmpeg's `-progress` blocks and a child's output, without ffmpeg.
final class MediaProgressTests: XCTestCase {
    func testEachClosedBlockGivesItsOutputTime() {
        var progress = FFmpegProgress()
        let lines = [
            "frame=0", "out_time_us=N/A", "out_time_ms=N/A", "out_time=N/A", "progress=continue",
            "frame=25", "out_time_us=1000000", "out_time_ms=1000000", "out_time=00:00:01.000000", "speed=2x",
            "progress=continue",
            "frame=50", "out_time_us=1961000", "progress=end",
        ]
        let times = lines.compactMap { progress.consume($0) }
        XCTAssertEqual(times, [1.0, 1.961])
        XCTAssertTrue(progress.ended)
        XCTAssertEqual(progress.outputTime, 1.961)
    }

    func testClockTextIsUsedWhenMicrosecondsAreMissing() {
        var progress = FFmpegProgress()
        XCTAssertNil(progress.consume("out_time=01:02:03.500000"))
        XCTAssertEqual(progress.consume("progress=continue"), 3723.5)
        XCTAssertNil(FFmpegProgress.clockSeconds("-00:00:00.040000"), "ffmpeg prints negative times before the start")
        XCTAssertNil(FFmpegProgress.clockSeconds("N/A"))
    }

    func testFractionIsClampedAndZeroWithoutDuration() {
        XCTAssertEqual(FFmpegProgress.fraction(1, of: 4), 0.25)
        XCTAssertEqual(FFmpegProgress.fraction(5, of: 4), 1)
        XCTAssertEqual(FFmpegProgress.fraction(-1, of: 4), 0)
        XCTAssertEqual(FFmpegProgress.fraction(1, of: 0), 0)
    }

    func testLinesSplitAcrossReadsAreJoined() {
        var splitter = LineSplitter()
        func feed(_ text: String) -> [String] {
            Array(text.utf8).withUnsafeBytes { splitter.append($0) }
        }
        XCTAssertEqual(feed("frame=1\nout_ti"), ["frame=1"])
        XCTAssertEqual(feed("me_us=40000\r\nprogress=con"), ["out_time_us=40000"])
        XCTAssertEqual(feed("tinue\n"), ["progress=continue"])
        XCTAssertEqual(feed("tail"), [])
        XCTAssertEqual(splitter.finish(), "tail")
    }

    func testStderrTailKeepsTheLastNonEmptyLines() {
        var tail = OutputTail(limit: 64)
        let text = (1...40).map { "line \($0)" }.joined(separator: "\n") + "\n\n"
        Array(text.utf8).withUnsafeBytes { tail.append($0) }
        XCTAssertEqual(tail.lastLines(3), "line 38\nline 39\nline 40")
    }

    func testFfmpegFailuresAreRetriedOnlyWhenASignalCausedThem() {
        let failed = MediaWork.failure(
            ChildTermination(reason: .exited(1), stderrTail: "No such filter", wasStopped: false))
        XCTAssertEqual(failed.kind, .permanent)
        XCTAssertEqual(failed.message, "ffmpeg exited with status 1:\nNo such filter")
        let killed = MediaWork.failure(ChildTermination(reason: .signalled(SIGKILL), stderrTail: "", wasStopped: false))
        XCTAssertEqual(killed.kind, .transient)
        XCTAssertEqual(killed.message, "ffmpeg was killed by signal 9 (SIGKILL)")
        let interrupted = MediaWork.failure(ChildTermination(reason: .exited(255), stderrTail: "", wasStopped: false))
        XCTAssertEqual(interrupted.kind, .transient)
        XCTAssertEqual(interrupted.message, "ffmpeg exited with status 255, as it does when a signal interrupts it")
    }
}
