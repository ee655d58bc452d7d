import Foundation
import JSON
import Reactor
import TestSupport
import XCTest

@testable import Jobs

/// The scheduler's rules on the in-memory store with an injected wall clock: claim order, caps,
/// retry back-off, leases running out, cancellation, drain and shutdown. Handlers are scripted;
/// nothing touches a disk or a network.
final class SchedulerRulesTests: XCTestCase {
    /// A handler that does what the test says with each run.
    private struct Scripted: JobHandler {
        let body: (JobContext, @escaping (JobOutcome) -> Void) -> Void
        func run(_ context: JobContext, finish: @escaping (JobOutcome) -> Void) { body(context, finish) }
    }

    /// The wall clock the scheduler and store read; tests move it.
    private final class Clock: @unchecked Sendable {
        // @unchecked Sendable: read and moved only on the loop thread (through `runner.sync`).
        var now: Double = 1_700_000_000
    }

    private var runner: LoopThread!
    private var clock: Clock!
    private var store: InMemoryJobStore!
    private var scheduler: Scheduler!
    /// Job ids in the order their handlers started.
    private var started: [Int64] = []
    private var contexts: [Int64: JobContext] = [:]

    override func setUp() {
        runner = LoopThread()
        clock = Clock()
        started = []
        contexts = [:]
    }

    override func tearDown() {
        runner.sync {
            self.scheduler?.shutdown(immediately: true)
            self.contexts = [:]
        }
        runner.stop()
    }

    /// Builds the store and scheduler on the loop, every type handled by `body`.
    private func make(
        capacity: Int = 1, caps: [String: Int] = [:], settings change: (inout WorkerSettings) -> Void = { _ in },
        isDeadOwner: @escaping (String) -> Bool = { _ in false },
        body: @escaping (JobContext, @escaping (JobOutcome) -> Void) -> Void
    ) {
        var settings = WorkerSettings(maxConcurrentJobs: capacity, fallbackPollSeconds: 3600, leaseSeconds: 60)
        settings.outputDirectory = FileManager.default.temporaryDirectory.path + "/scheduler-rules-\(UUID())"
        settings.retryPolicy = RetryPolicy(baseDelay: 2, multiplier: 2, maxDelay: 300, jitter: 0.25)
        change(&settings)
        let clock = clock!
        runner.sync {
            let loop = self.runner.loop
            self.store = InMemoryJobStore(
                leaseSeconds: settings.leaseSeconds, clock: { clock.now }, isDeadOwner: isDeadOwner)
            var registry = HandlerRegistry()
            let handler = Scripted { [unowned self] context, finish in
                self.started.append(context.job.id)
                self.contexts[context.job.id] = context
                body(context, finish)
            }
            for type in JobType.allCases {
                for provider in ["openai", "kling", "bria", "ffmpeg"] {
                    registry.register(type, provider: provider, handler)
                }
            }
            let http = HTTPClient(loop: loop)
            self.scheduler = Scheduler(
                loop: loop, store: self.store, registry: registry,
                gate: ConcurrencyGate(capacity: capacity, caps: caps), settings: settings, log: .discarding(),
                http: http, outputBudget: OutputBackPressure(loop: loop) { _ in },
                throttle: ProviderThrottle(clock: { loop.now }),
                worker: WorkerRecord(
                    id: self.store.owner, host: "memory", pid: 1, version: "test", maxConcurrentJobs: capacity,
                    leaseSeconds: settings.leaseSeconds),
                clock: { clock.now }, random: { 0 })
        }
    }

    private func onLoop<T>(_ work: @escaping () -> T) -> T { runner.sync(work) }

    /// Waits (with a deadline) for a condition checked on the loop.
    private func eventually(_ what: String, _ condition: @escaping () -> Bool) {
        XCTAssertTrue(Wait.until(timeout: 10) { self.onLoop(condition) }, what)
    }

    private func status(_ id: Int64) -> JobStatus? { onLoop { self.store.row(id)?.status } }

    func testKeyingIsClaimedFirstThenHigherPriorityThenOlder() {
        make { _, finish in finish(.completed(result: [:])) }
        let ids: [Int64] = onLoop {
            [
                self.store.insert("image_generation", params: #"{"provider":"openai"}"#),
                self.store.insert("image_generation", params: #"{"provider":"openai"}"#, priority: 5),
                self.store.insert("video_keying"),
                self.store.insert("image_generation", params: #"{"provider":"openai"}"#),
            ]
        }
        onLoop { self.scheduler.start() }
        eventually("all four ran") { self.started.count == 4 }
        XCTAssertEqual(onLoop { self.started }, [ids[2], ids[1], ids[0], ids[3]])
        XCTAssertEqual(onLoop { self.store.row(ids[2])?.job.attempts }, 1)
    }

    func testAProviderAtItsCapWaitsWhileOthersRun() {
        make(capacity: 3, caps: ["kling": 1]) { _, _ in }  // Runs never end.
        let ids: [Int64] = onLoop {
            [
                self.store.insert("animation", params: #"{"provider":"kling"}"#),
                self.store.insert("animation", params: #"{"provider":"kling"}"#),
                self.store.insert("image_generation", params: #"{"provider":"openai"}"#),
            ]
        }
        onLoop { self.scheduler.start() }
        eventually("two ran") { self.started.count == 2 }
        XCTAssertEqual(onLoop { self.started }, [ids[0], ids[2]])
        XCTAssertEqual(status(ids[1]), .queued, "the second Kling job waits for the cap, not for a slot")
    }

    func testATransientFailureWaitsItsBackOffThenRunsAgainUntilAttemptsAreUsed() {
        make { _, finish in finish(.failed(.transient("HTTP 503"))) }
        let id = onLoop { self.store.insert("image_generation", params: #"{"provider":"openai"}"#) }
        let start = clock.now
        onLoop { self.scheduler.start() }
        eventually("the first attempt failed") { self.store.row(id)?.status == .queued && self.started.count == 1 }
        // random() is 0: the full base delay, 2 s, then 4 s.
        XCTAssertEqual(onLoop { self.store.row(id)?.runAfter }, start + 2)
        XCTAssertEqual(onLoop { self.store.row(id)?.error }, "attempt 1 of 3 failed: HTTP 503")
        onLoop { self.scheduler.changeHint() }
        XCTAssertEqual(onLoop { self.started.count }, 1, "not before its run time")
        onLoop {
            self.clock.now = start + 2
            self.scheduler.changeHint()
        }
        eventually("the second attempt failed") { self.started.count == 2 && self.store.row(id)?.status == .queued }
        XCTAssertEqual(onLoop { self.store.row(id)?.runAfter }, start + 2 + 4)
        onLoop {
            self.clock.now = start + 6
            self.scheduler.changeHint()
        }
        eventually("the third attempt failed for good") { self.store.row(id)?.status == .failed }
        XCTAssertEqual(onLoop { self.store.row(id)?.error }, "HTTP 503 (gave up after 3 attempts)")
        XCTAssertEqual(onLoop { self.store.row(id)?.job.attempts }, 3)
    }

    func testAPermanentFailureIsNotRetried() {
        make { _, finish in finish(.failed(.permanent("params.prompt is required"))) }
        let id = onLoop { self.store.insert("image_generation", params: #"{"provider":"openai"}"#) }
        onLoop { self.scheduler.start() }
        eventually("failed") { self.store.row(id)?.status == .failed }
        XCTAssertEqual(onLoop { self.started.count }, 1)
        XCTAssertEqual(onLoop { self.store.row(id)?.error }, "params.prompt is required")
    }

    func testAJobWhoseLeaseRanOutIsRecoveredAndRunHereWithoutSpendingAnAttempt() {
        make { _, finish in finish(.completed(result: [:])) }
        let id = onLoop {
            let id = self.store.insert("animation", params: #"{"provider":"kling"}"#)
            self.store.edit(id) { row in
                row.status = .processing
                row.leaseOwner = "elsewhere:7:1"
                row.leaseUntil = self.clock.now + 30
                row.job.attempts = 1
                row.job.providerTaskID = "task-1"
            }
            return id
        }
        onLoop { self.scheduler.start() }
        XCTAssertEqual(status(id), .processing, "a live lease is left alone")
        onLoop {
            self.clock.now += 31
            self.scheduler.leases.recover()
        }
        eventually("recovered and completed") { self.store.row(id)?.status == .completed }
        XCTAssertEqual(onLoop { self.store.row(id)?.job.interruptions }, 1)
        XCTAssertEqual(onLoop { self.store.row(id)?.job.attempts }, 1, "resuming its task spent no attempt")
    }

    func testCancellingARunningJobStopsWhatItStartedAndFreesItsSlot() {
        var stopped: [Int64] = []
        make { context, _ in context.onCancel { stopped.append(context.job.id) } }
        let ids: [Int64] = onLoop {
            [
                self.store.insert("image_generation", params: #"{"provider":"openai"}"#),
                self.store.insert("image_generation", params: #"{"provider":"openai"}"#),
            ]
        }
        onLoop { self.scheduler.start() }
        eventually("the first runs") { self.started == [ids[0]] }
        onLoop {
            self.store.requestCancel(ids[0])
            self.scheduler.changeHint()
        }
        eventually("the second runs in the freed slot") { self.started == ids }
        XCTAssertEqual(status(ids[0]), .cancelled)
        XCTAssertEqual(onLoop { self.store.row(ids[0])?.error }, "cancelled while running")
        XCTAssertEqual(onLoop { stopped }, [ids[0]])
    }

    func testDrainStopsOnceNothingIsQueuedOrActiveAndTheWorkerLeavesCleanly() {
        make(capacity: 2) { _, finish in finish(.completed(result: ["files": []])) }
        onLoop {
            for _ in 0..<3 { self.store.insert("image_generation", params: #"{"provider":"openai"}"#) }
        }
        var stopped = false
        onLoop {
            self.scheduler.drainWhenIdle = true
            self.scheduler.onStopped = { stopped = true }
            self.scheduler.start()
        }
        eventually("the scheduler stopped") { stopped }
        XCTAssertEqual(onLoop { self.started.count }, 3)
        XCTAssertTrue(onLoop { self.store.workers.isEmpty }, "a clean stop removes the worker's row")
        XCTAssertTrue(onLoop { self.store.closed })
    }

    func testShutdownReturnsUnfinishedJobsToTheQueueAndGivesTheirAttemptsBack() {
        make(capacity: 2, settings: { $0.shutdownTimeoutSeconds = 0.05 }) { _, _ in }
        let ids: [Int64] = onLoop {
            [
                self.store.insert("image_generation", params: #"{"provider":"openai"}"#),
                self.store.insert("image_generation", params: #"{"provider":"openai"}"#),
            ]
        }
        var stopped = false
        onLoop {
            self.scheduler.onStopped = { stopped = true }
            self.scheduler.start()
        }
        eventually("both run") { self.started.count == 2 }
        onLoop { self.scheduler.shutdown() }
        XCTAssertEqual(onLoop { self.store.workers.first?.value.status }, .stopping)
        eventually("stopped after the timeout") { stopped }
        for id in ids {
            XCTAssertEqual(status(id), .queued)
            XCTAssertEqual(onLoop { self.store.row(id)?.job.attempts }, 0)
        }
    }

    func testAJobInputIsResolvedFromTheStoreBeforeItsHandlerRuns() {
        var resolved: MediaInput?
        make { context, finish in
            resolved = try? context.inputs.resolve(["job": 1], key: "image", kind: .image)
            finish(.completed(result: [:]))
        }
        let file = FileManager.default.temporaryDirectory.path + "/scheduler-input-\(UUID()).png"
        FileManager.default.createFile(atPath: file, contents: Data([1]))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let id = onLoop {
            let earlier = self.store.insert("image_generation", params: #"{"provider":"openai"}"#)
            self.store.edit(earlier) { row in
                row.status = .completed
                row.result = ["files": [.string(file)]]
            }
            return self.store.insert("background_removal", params: #"{"image":{"job":1}}"#)
        }
        onLoop { self.scheduler.start() }
        eventually("ran") { self.store.row(id)?.status == .completed }
        XCTAssertEqual(resolved, .file(path: file))
    }
}
