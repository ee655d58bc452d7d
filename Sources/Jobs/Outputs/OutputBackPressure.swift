import Reactor

/// Bounds the bytes of output files waiting for a writer thread, by pausing the intake of
/// provider answers while too many are queued.
///
/// When thousands of image jobs finish in the same second, the loop reads their answers far
/// faster than the disk takes the files (fsync per file), and without a bound every image would
/// wait in memory: the worker's memory would grow with the burst. Above `highWater` bytes queued,
/// `pause(true)` stops reading answers (they wait in the kernel's socket buffers); once the
/// writers bring the queue under `lowWater`, `pause(false)` resumes. Requests still go out and
/// timeouts still run while paused.
///
/// Loop-owned: `reserve` and `release` run on the loop thread only (asserted).
/// @unchecked Sendable: writer threads carry a reference back to the loop through
/// `EventLoop.execute` and never touch the state themselves.
public final class OutputBackPressure: @unchecked Sendable {
    public static let defaultHighWater = 2 << 20
    public static let defaultLowWater = 1 << 20

    private let loop: EventLoop
    private let highWater: Int
    private let lowWater: Int
    private let pause: (Bool) -> Void
    /// Bytes handed to writer threads and not yet written.
    public private(set) var pendingBytes = 0
    public private(set) var isPaused = false
    /// How many times the intake was paused (a metric for tuning; never reset).
    public private(set) var pauses = 0

    public init(
        loop: EventLoop, highWater: Int = defaultHighWater, lowWater: Int = defaultLowWater,
        pause: @escaping (Bool) -> Void
    ) {
        precondition(lowWater <= highWater, "lowWater must not exceed highWater")
        self.loop = loop
        self.highWater = highWater
        self.lowWater = lowWater
        self.pause = pause
    }

    /// Counts `bytes` about to be queued for a writer; pauses the intake above the high water mark.
    public func reserve(_ bytes: Int) {
        loop.assertInLoop()
        pendingBytes += bytes
        if !isPaused && pendingBytes > highWater {
            isPaused = true
            pauses += 1
            pause(true)
        }
    }

    /// Counts `bytes` as written (or failed); resumes the intake under the low water mark.
    public func release(_ bytes: Int) {
        loop.assertInLoop()
        pendingBytes -= bytes
        if isPaused && pendingBytes <= lowWater {
            isPaused = false
            pause(false)
        }
    }
}
