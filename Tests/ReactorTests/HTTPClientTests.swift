import Foundation
import Reactor
import Synchronization
import TestSupport
import XCTest

final class HTTPClientTests: XCTestCase {
    private var runner: LoopThread!
    private var client: HTTPClient!

    override func setUp() {
        runner = LoopThread()
        client = runner.sync { HTTPClient(loop: self.runner.loop) }
    }

    override func tearDown() {
        // Loop-owned objects end on the loop thread, like everything else they do.
        runner.sync { self.client = nil }
        runner.stop()
    }

    /// Sends on the loop and waits on the test thread for the completion.
    private func send(_ request: HTTPRequest, timeout: Double = 30) -> Result<HTTPResponse, HTTPTransportError>? {
        let box = ResultBox<Result<HTTPResponse, HTTPTransportError>>()
        let done = DispatchSemaphore(value: 0)
        let client = client!
        runner.sync {
            client.send(request) { result in
                box.value = result
                done.signal()
            }
        }
        _ = done.wait(timeout: .now() + timeout)
        return box.value
    }

    /// A client of its own on the loop, made by `make`, ended on the loop after the test.
    private func ownClient(_ make: @escaping (EventLoop) -> HTTPClient) -> ResultBox<HTTPClient> {
        let loop = runner.loop
        let box = ResultBox<HTTPClient>()
        runner.sync { box.value = make(loop) }
        addTeardownBlock { [runner] in runner!.sync { box.value = nil } }
        return box
    }

    func testAnHTTPAnswerIsAResponseAndNoAnswerIsATransportError() throws {
        let server = try TinyHTTPServer(body: "ok")
        defer { server.stop() }
        let answered = try XCTUnwrap(send(HTTPRequest(url: server.url)))
        let response = try answered.get()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "ok")
        XCTAssertEqual(response.headers["content-type"], "text/plain")

        // A port nobody listens on: bind, note the port, close.
        let closed = try TinyHTTPServer()
        let url = closed.url
        closed.stop()
        let refused = try XCTUnwrap(send(HTTPRequest(url: url, timeout: 5)))
        guard case .failure(let error) = refused else { return XCTFail("expected a transport error, got \(refused)") }
        XCTAssertEqual(error.kind, .couldNotConnect)
    }

    func testSequentialRequestsReuseOneConnection() throws {
        let server = try TinyHTTPServer()
        defer { server.stop() }
        for _ in 0..<20 {
            let result = try XCTUnwrap(send(HTTPRequest(method: "POST", url: server.url, body: Data("{}".utf8))))
            XCTAssertEqual(try result.get().status, 200)
        }
        XCTAssertEqual(server.requests.load(ordering: .relaxed), 20)
        XCTAssertEqual(
            server.connections.load(ordering: .relaxed), 1, "curl-multi's connection cache should keep one connection")
    }

    func testDownloadStreamsTheBodyIntoTheFile() throws {
        let body = String(repeating: "0123456789", count: 50_000)
        let server = try TinyHTTPServer(body: body)
        defer { server.stop() }
        let path = NSTemporaryDirectory() + "download-\(UUID().uuidString)"
        defer { unlink(path) }
        let response = try XCTUnwrap(send(HTTPRequest(url: server.url, downloadPath: path))).get()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.downloadedBytes, Int64(body.utf8.count))
        XCTAssertTrue(response.body.isEmpty, "a download must not also be kept in memory")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), body)
    }

    /// A successful answer with no body still leaves its (empty) file, as the caller expects
    /// to find one to flush and rename.
    func testAnEmptyDownloadCreatesAnEmptyFile() throws {
        let server = try TinyHTTPServer(body: "")
        defer { server.stop() }
        let path = NSTemporaryDirectory() + "download-empty-\(UUID().uuidString)"
        defer { unlink(path) }
        let response = try XCTUnwrap(send(HTTPRequest(url: server.url, timeout: 10, downloadPath: path))).get()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.downloadedBytes, 0)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int, 0)
    }

    /// A download's bytes are written off the loop. A FIFO that nobody reads yet stands in for a
    /// stalled disk or network filesystem: once its 64 KiB pipe is full, every further write
    /// blocks. The loop must still run its timers meanwhile, and once the reader drains the
    /// FIFO the file must have every byte in order.
    func testADownloadWhoseFileBlocksDoesNotStallTheLoopAndLosesNoByte() throws {
        let body = String(repeating: "0123456789abcdefghijklmnopqrstuv", count: 125_000)  // 4 MB
        let server = try TinyHTTPServer(body: body)
        defer { server.stop() }
        let path = NSTemporaryDirectory() + "download-fifo-\(UUID().uuidString)"
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        defer { unlink(path) }
        let reader = open(path, O_RDONLY | O_NONBLOCK)  // opened now, read later
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        let result = ResultBox<Result<HTTPResponse, HTTPTransportError>>()
        let completed = DispatchSemaphore(value: 0)
        let client = client!
        runner.sync {
            client.send(HTTPRequest(url: server.url, timeout: 60, downloadPath: path)) {
                result.value = $0
                completed.signal()
            }
        }
        // A pipe within a page of its capacity is full for a writer of 16 KiB chunks: the next
        // write blocks. (The capacity varies: 64 KiB, or one page once a user's pipes hold more
        // than pipe-user-pages-soft.)
        let getPipeSize: Int32 = 1032  // F_GETPIPE_SZ, which Glibc's module does not export
        let capacity = fcntl(reader, getPipeSize)
        XCTAssertGreaterThan(capacity, 0)
        XCTAssertTrue(
            Wait.until(timeout: 10) {
                var queued: Int32 = 0
                let asked = withUnsafeMutablePointer(to: &queued) { ioctl(reader, UInt(FIONREAD), $0) }
                return asked == 0 && queued > capacity - 4096
            }, "the FIFO's pipe never filled")

        // Asked without waiting for the loop: were it blocked in a write, `runner.sync` would
        // never return and the FIFO below would never be drained.
        let ticked = DispatchSemaphore(value: 0)
        let timer = ResultBox<TimerWatcher>()
        let loop = runner.loop
        loop.execute {
            timer.value = TimerWatcher(loop: loop) { ticked.signal() }
            timer.value!.schedule(after: 0.01)
        }
        XCTAssertEqual(ticked.wait(timeout: .now() + 5), .success, "the loop is blocked writing the download")

        _ = fcntl(reader, F_SETFL, fcntl(reader, F_GETFL) & ~O_NONBLOCK)
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(reader, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }  // end of file: the download closed it
            received.append(contentsOf: buffer[0..<count])
        }
        XCTAssertEqual(completed.wait(timeout: .now() + 30), .success)
        let response = try XCTUnwrap(result.value).get()
        XCTAssertEqual(response.downloadedBytes, Int64(body.utf8.count))
        XCTAssertEqual(received.count, body.utf8.count)
        XCTAssertTrue(received == Data(body.utf8), "the bytes arrived out of order or changed")
        runner.sync { timer.value = nil }
    }

    /// Downloads stalled on the disk together (FIFOs nobody reads) hold at most the memory
    /// budget they share, not each its own 1 MiB: with 2,000 animations downloading to a hung
    /// NAS, that is the difference between 16 MiB and 2 GiB. Once the disk takes bytes again,
    /// every download resumes and completes with every byte.
    func testStalledDownloadsTogetherHoldNoMoreThanTheirSharedBudget() throws {
        let budget = 256 << 10
        let body = String(repeating: "0123456789abcdefghijklmnopqrstuv", count: 125_000)  // 4 MB each
        let server = try TinyHTTPServer(body: body)
        defer { server.stop() }
        // This test's own client, held only by the box so that it ends on the loop thread.
        let box = ownClient { HTTPClient(loop: $0, downloadMemory: budget) }
        let client = { box.value! }
        let paths = (0..<3).map { NSTemporaryDirectory() + "download-stalled-\($0)-\(UUID().uuidString)" }
        var readers: [Int32] = []
        var holders: [Int32] = []
        for path in paths {
            XCTAssertEqual(mkfifo(path, 0o600), 0)
            readers.append(open(path, O_RDONLY | O_NONBLOCK))  // opened now, read later
            XCTAssertGreaterThanOrEqual(readers.last!, 0)
            // A writer of the test's own, so that reading finds no end of file before the
            // download opens its side (a download paused before its first byte has not).
            holders.append(open(path, O_WRONLY | O_NONBLOCK))
            XCTAssertGreaterThanOrEqual(holders.last!, 0)
        }
        defer {
            for descriptor in readers + holders { close(descriptor) }
            for path in paths { unlink(path) }
        }
        let results = Mutex<[Result<HTTPResponse, HTTPTransportError>]>([])
        runner.sync {
            for path in paths {
                client().send(HTTPRequest(url: server.url, timeout: 60, downloadPath: path)) { result in
                    results.withLock { $0.append(result) }
                }
            }
        }

        XCTAssertTrue(
            Wait.until(timeout: 20) { self.runner.sync { client().downloadsWaitingForDisk } == paths.count },
            "the three downloads never all paused")
        let waiting = runner.sync { client().downloadBytesWaiting }
        // Over the mark by at most the one chunk that crossed it (curl hands 16 KiB at a time).
        XCTAssertLessThanOrEqual(waiting, budget + (16 << 10), "downloads held more than their shared budget")

        let received = Mutex<[Int]>(Array(repeating: 0, count: paths.count))
        let drained = DispatchGroup()
        for (index, reader) in readers.enumerated() {
            _ = fcntl(reader, F_SETFL, fcntl(reader, F_GETFL) & ~O_NONBLOCK)
            drained.enter()
            Thread.detachNewThread {  // one reader each: draining one at a time could wait on the others
                var buffer = [UInt8](repeating: 0, count: 65_536)
                var total = 0
                while total < body.utf8.count {
                    let count = read(reader, &buffer, buffer.count)
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else { break }
                    total += count
                }
                received.withLock { $0[index] = total }
                drained.leave()
            }
        }
        XCTAssertEqual(drained.wait(timeout: .now() + 60), .success, "a download never wrote all of its file")
        XCTAssertTrue(Wait.until(timeout: 30) { results.withLock { $0.count } == paths.count })
        for result in results.withLock({ $0 }) {
            XCTAssertEqual(try result.get().downloadedBytes, Int64(body.utf8.count))
        }
        XCTAssertEqual(received.withLock { $0 }, Array(repeating: body.utf8.count, count: paths.count))
        XCTAssertEqual(runner.sync { client().downloadBytesWaiting }, 0)
    }

    /// Downloads together take in at most their share per loop iteration (then each pauses until
    /// the next one), so fast sockets cannot make one iteration read for tens of milliseconds;
    /// and every byte still arrives, in order.
    func testDownloadsTakeInAtMostTheirShareInOneLoopIteration() throws {
        let share = 64 << 10
        let body = String(repeating: "0123456789abcdefghijklmnopqrstuv", count: 62_500)  // 2 MB each
        let server = try TinyHTTPServer(body: body)
        defer { server.stop() }
        let box = ownClient { HTTPClient(loop: $0, downloadBytesPerTurn: share) }
        let paths = (0..<4).map { NSTemporaryDirectory() + "download-turn-\($0)-\(UUID().uuidString)" }
        defer { for path in paths { unlink(path) } }
        let results = Mutex<[Result<HTTPResponse, HTTPTransportError>]>([])
        runner.sync {
            for path in paths {
                box.value!.send(HTTPRequest(url: server.url, timeout: 60, downloadPath: path)) { result in
                    results.withLock { $0.append(result) }
                }
            }
        }
        XCTAssertTrue(Wait.until(timeout: 60) { results.withLock { $0.count } == paths.count })
        for result in results.withLock({ $0 }) {
            XCTAssertEqual(try result.get().downloadedBytes, Int64(body.utf8.count))
        }
        for path in paths {
            XCTAssertEqual(FileManager.default.contents(atPath: path), Data(body.utf8), "\(path) differs")
        }
        let largest = runner.sync { box.value!.largestDownloadTurn }
        // Over the share by at most the one piece that crossed it (curl hands 16 KiB at a time).
        XCTAssertLessThanOrEqual(largest, share + (16 << 10), "one iteration took in \(largest) bytes")
        XCTAssertGreaterThanOrEqual(largest, share, "the downloads never used up a share: the test proves nothing")
    }

    /// A burst of requests reaches curl a share at a time (`StartTurn`): past the share, they
    /// wait for curl's next action. Every one of them is answered.
    func testABurstOfRequestsIsHandedToCurlAShareAtATime() throws {
        let server = try TinyHTTPServer(body: "ok")
        defer { server.stop() }
        let box = ownClient { HTTPClient(loop: $0, startsPerTurn: 4) }
        let results = Mutex<[Result<HTTPResponse, HTTPTransportError>]>([])
        let waitingRightAfter = runner.sync { () -> Int in
            for _ in 0..<10 {
                box.value!.send(HTTPRequest(url: server.url, timeout: 30)) { result in
                    results.withLock { $0.append(result) }
                }
            }
            return box.value!.requestsWaitingToStart
        }
        XCTAssertEqual(waitingRightAfter, 6, "past the share of 4, the rest must wait for curl")
        XCTAssertTrue(Wait.until(timeout: 30) { results.withLock { $0.count } == 10 })
        for result in results.withLock({ $0 }) {
            XCTAssertEqual(try result.get().status, 200)
        }
        let after = runner.sync {
            (
                box.value!.largestStartTurn, box.value!.requestsWaitingToStart, box.value!.activeCount,
                box.value!.largestDownloadTurnCharged
            )
        }
        // Each start took its cost from its iteration's reading (`HTTPClient.startReadingCost`).
        XCTAssertGreaterThanOrEqual(after.3, 4 * HTTPClient.startReadingCost, "starts did not count against reading")
        XCTAssertEqual(after.0, 4, "curl was handed more than the share in one iteration")
        XCTAssertEqual(after.1, 0)
        XCTAssertEqual(after.2, 0)
    }

    /// A request cancelled while it waits to start is never sent and never completes; those
    /// behind it still run.
    func testARequestCancelledWhileWaitingToStartIsNeverSent() throws {
        let server = try TinyHTTPServer(body: "ok")
        defer { server.stop() }
        let box = ownClient { HTTPClient(loop: $0, startsPerTurn: 1) }
        let answered = Mutex<[Int]>([])
        runner.sync {
            let ids = (0..<4).map { index in
                box.value!.send(HTTPRequest(url: server.url, timeout: 30)) { result in
                    if case .success = result { answered.withLock { $0.append(index) } }
                }
            }
            box.value!.cancel(ids[2])
        }
        XCTAssertTrue(Wait.until(timeout: 30) { answered.withLock { $0.count } == 3 })
        XCTAssertEqual(answered.withLock { $0.sorted() }, [0, 1, 3])
        XCTAssertTrue(Wait.until(timeout: 10) { self.runner.sync { box.value!.activeCount == 0 } })
        XCTAssertEqual(runner.sync { box.value!.requestsWaitingToStart }, 0)
        XCTAssertEqual(answered.withLock { $0.count }, 3, "the cancelled request completed after all")
    }

    /// A download whose file cannot be created fails as a local-file error naming the path,
    /// stopping the transfer there (4 MB: more than arrives before the failure is seen).
    func testADownloadIntoAMissingFolderFailsNamingThePath() throws {
        let server = try TinyHTTPServer(body: String(repeating: "x", count: 4_000_000))
        defer { server.stop() }
        let path = NSTemporaryDirectory() + "missing-\(UUID().uuidString)/file.bin"
        let result = try XCTUnwrap(send(HTTPRequest(url: server.url, timeout: 10, downloadPath: path)))
        guard case .failure(let error) = result else { return XCTFail("expected a failure, got \(result)") }
        XCTAssertEqual(error.kind, .localFile)
        XCTAssertTrue(error.message.contains("cannot create \(path)"), error.message)
        XCTAssertEqual(runner.sync { self.client.activeCount }, 0)
    }

    /// REACTOR-NOTES.md A.4: curl's example divides milliseconds as integers, turning a 300 ms
    /// wait into 0 s and spinning the loop until the deadline. Ours must sleep, then fire.
    func testSubSecondTimeoutFiresOnTimeWithoutSpinning() throws {
        let server = try TinyHTTPServer(silent: true)
        defer { server.stop() }
        let cpuBefore = Self.processCPUSeconds()
        let started = Date()
        let result = try XCTUnwrap(send(HTTPRequest(url: server.url, timeout: 0.3), timeout: 10))
        let elapsed = Date().timeIntervalSince(started)
        let cpu = Self.processCPUSeconds() - cpuBefore
        guard case .failure(let error) = result else { return XCTFail("a silent server must time out, got \(result)") }
        XCTAssertEqual(error.kind, .timeout)
        XCTAssertGreaterThanOrEqual(elapsed, 0.29, "fired before its deadline")
        XCTAssertLessThan(elapsed, 3, "a 0.3 s timeout must fire soon after 0.3 s")
        XCTAssertLessThan(cpu, elapsed * 0.5, "the loop spun while waiting (\(cpu) s CPU in \(elapsed) s)")
    }

    func testCancelledTransferNeverCompletesAndFreesItsConnection() throws {
        let server = try TinyHTTPServer(silent: true)
        defer { server.stop() }
        let completed = Atomic<Bool>(false)
        let client = client!
        let id = runner.sync {
            client.send(HTTPRequest(url: server.url, timeout: 5)) { _ in completed.store(true, ordering: .relaxed) }
        }
        XCTAssertTrue(Wait.until(timeout: 5) { server.connections.load(ordering: .relaxed) == 1 })
        runner.sync { client.cancel(id) }
        XCTAssertEqual(runner.sync { client.activeCount }, 0)
        // Still not completed well past the transfer's own timeout would have been reported.
        XCTAssertFalse(Wait.until(timeout: 0.5) { completed.load(ordering: .relaxed) })
    }

    /// Back-pressure: while receiving is paused the request still goes out and is answered,
    /// but the answer stays in the socket until receiving resumes.
    func testPausedReceivingHoldsAnswersUntilResumed() throws {
        // Larger than curl's receive buffer, so the pause lands in the middle of the body.
        let body = String((0..<100_000).map { _ in "abcdefghij".randomElement()! })
        let server = try TinyHTTPServer(body: body)
        defer { server.stop() }
        let completed = Atomic<Bool>(false)
        let client = client!
        runner.sync {
            client.receivingPaused = true
            client.send(HTTPRequest(url: server.url, timeout: 10)) { result in
                XCTAssertEqual((try? result.get()).map { String(decoding: $0.body, as: UTF8.self) }, body)
                completed.store(true, ordering: .relaxed)
            }
        }
        XCTAssertTrue(Wait.until(timeout: 5) { server.requests.load(ordering: .relaxed) == 1 }, "the request went out")
        XCTAssertFalse(Wait.until(timeout: 0.3) { completed.load(ordering: .relaxed) }, "the answer waits")
        runner.sync { client.receivingPaused = false }
        XCTAssertTrue(Wait.until(timeout: 5) { completed.load(ordering: .relaxed) }, "and arrives once resumed")
    }

    /// The core promise: hundreds of slow requests in flight at once on the one loop thread.
    func testFiveHundredSlowRequestsRunAtOnceOnTheLoopThread() throws {
        let workspace = Workspace(name: "http500")
        defer { workspace.remove() }
        let mock = try MockProvidersProcess(arguments: ["--latency", "0.3"], workspace: workspace)
        let client = client!
        let loop = runner.loop
        let finished = Atomic<Int>(0)
        let succeeded = Atomic<Int>(0)
        let offLoop = Atomic<Int>(0)
        let body = Data(#"{"model":"gpt-image-1","prompt":"a red fox"}"#.utf8)
        runner.sync {
            for _ in 0..<500 {
                let request = HTTPRequest.postJSON(
                    url: mock.baseURL + "/v1/images/generations", json: body,
                    headers: [("Authorization", "Bearer sk-test-openai-key-123")], timeout: 60)
                client.send(request) { result in
                    if !loop.inLoop { offLoop.add(1, ordering: .relaxed) }
                    if case .success(let response) = result, response.status == 200 {
                        succeeded.add(1, ordering: .relaxed)
                    }
                    finished.add(1, ordering: .relaxed)
                }
            }
        }
        XCTAssertTrue(Wait.until(timeout: 120) { finished.load(ordering: .relaxed) == 500 })
        XCTAssertEqual(succeeded.load(ordering: .relaxed), 500)
        XCTAssertEqual(offLoop.load(ordering: .relaxed), 0)
        let maxOpen = try mock.stats()["max_open"] as? Int ?? 0
        XCTAssertEqual(maxOpen, 500, "the server should have seen all 500 requests open at once")
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
