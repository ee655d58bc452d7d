import Dispatch
import Foundation
import TestSupport
import XCTest

@testable import Jobs

/// The log's own writer queue: lines from any thread arrive whole and in order, `flush` waits
/// for them, and a LOG_FILE that blocks does not block whoever logs.
final class WorkerLogTests: XCTestCase {
    private var workspace: Workspace!

    override func setUp() { workspace = Workspace(name: "log") }
    override func tearDown() { workspace.remove() }

    func testLinesFromManyThreadsArriveWholeAndInOrderOnceFlushed() throws {
        let path = workspace.directory + "/worker.log"
        let log = try WorkerLog(path: path)
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for number in 0..<500 { log.info("thread \(thread) line \(number)") }
        }
        log.flush()

        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2000)
        for thread in 0..<4 {
            let numbers = lines.compactMap { line -> Int? in
                guard let range = line.range(of: " INFO thread \(thread) line ") else { return nil }
                return Int(line[range.upperBound...])
            }
            XCTAssertEqual(numbers, Array(0..<500), "thread \(thread)'s lines are missing, torn or out of order")
        }
    }

    /// A FIFO nobody reads stands in for a log disk that stalls: once its pipe is full the log's
    /// queue waits in `write`, but logging returns at once; every line arrives once it is read.
    func testALogFileThatBlocksDoesNotBlockTheCaller() throws {
        let path = workspace.directory + "/stalled.log"
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        let reader = open(path, O_RDONLY | O_NONBLOCK)  // so the log can open it; read later
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        let log = try WorkerLog(path: path)
        let line = String(repeating: "x", count: 200)

        let logged = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            // 2,000 lines of ~230 bytes: several times what the pipe holds.
            for number in 0..<2000 { log.info("\(number) \(line)") }
            logged.signal()
        }
        XCTAssertEqual(logged.wait(timeout: .now() + 10), .success, "logging waited for the stalled file")

        _ = fcntl(reader, F_SETFL, fcntl(reader, F_GETFL) & ~O_NONBLOCK)
        let flushed = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            log.flush()
            flushed.signal()
        }
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var allWritten = false
        let deadline = Date().addingTimeInterval(30)
        while !allWritten || hasBytes(reader), Date() < deadline {
            if !allWritten { allWritten = flushed.wait(timeout: .now()) == .success }
            var ready = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 100) > 0 else { continue }
            let count = read(reader, &buffer, buffer.count)
            if count > 0 { received.append(contentsOf: buffer[0..<count]) }
        }
        XCTAssertTrue(allWritten, "flush never returned")
        let lines = String(decoding: received, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 2000)
        XCTAssertTrue(lines.last?.hasSuffix("INFO 1999 \(line)") ?? false)
    }

    private func hasBytes(_ descriptor: Int32) -> Bool {
        var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&ready, 1, 0) > 0 && ready.revents & Int16(POLLIN) != 0
    }
}
