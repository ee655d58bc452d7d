import Dispatch
import Foundation
import Synchronization

/// The file one download streams into, written on a download queue instead of the loop.
///
/// `write(2)` to a file blocks for as long as the disk or a network filesystem takes (dirty-page
/// throttling during writeback, an NFS server's answer), and while the loop waits every job
/// waits. So the loop only copies each chunk curl hands it and queues it here. When more than
/// `highWater` bytes wait to be written, the transfer pauses (curl keeps the chunk and reads no
/// more) until the queue is back under `lowWater`, so a slow disk costs memory only up to that.
///
/// Threads: `append`, `finish`, `discard`, `isBehind`, `failure` and `whenDrained` are called on
/// the loop; the descriptor belongs to `queue`, which keeps the file's chunks in order. What
/// both sides read is behind a Mutex, hence @unchecked Sendable.
final class DownloadFile: @unchecked Sendable {
    static let highWater = 1 << 20
    static let lowWater = 256 << 10

    /// A few serial queues shared by all downloads, not one per download: a queue of its own
    /// per file would let 2,000 downloads stalled on a slow disk hold 2,000 threads.
    private static let queues = (0..<4).map { DispatchQueue(label: "reactor.downloads.\($0)", qos: .utility) }
    private static let nextQueue = Atomic<Int>(0)

    let path: String
    private let queue: DispatchQueue
    /// Queue only.
    private var descriptor: Int32 = -1

    private struct Shared {
        /// Bytes appended and not yet written (or dropped after a failure).
        var pending = 0
        /// Why writing stopped: the first write error, or a discard.
        var failure: String?
        /// Runs once `pending` falls to `lowWater` (set by `whenDrained`).
        var onDrained: (@Sendable () -> Void)?
    }
    private let shared = Mutex(Shared())

    init(path: String) {
        self.path = path
        let turn = Self.nextQueue.add(1, ordering: .relaxed).oldValue
        queue = Self.queues[turn % Self.queues.count]
    }

    deinit {
        // Only reached with no block left on the queue, which held the last references.
        if descriptor >= 0 { close(descriptor) }
    }

    /// Whether the queue has fallen more than `highWater` behind; the transfer should pause.
    var isBehind: Bool { shared.withLock { $0.pending > Self.highWater } }

    /// The first error writing met; the transfer should stop.
    var failure: String? { shared.withLock { $0.failure } }

    /// Copies `bytes` and writes them on the queue, after everything appended before.
    func append(_ bytes: UnsafeRawBufferPointer) {
        let chunk = Data(bytes)
        shared.withLock { $0.pending += chunk.count }
        queue.async { self.write(chunk) }
    }

    /// Runs `action` (on the queue's thread) once the queue is back under `lowWater`; at once
    /// if it already is.
    func whenDrained(_ action: @escaping @Sendable () -> Void) {
        let now = shared.withLock { state -> Bool in
            if state.pending <= Self.lowWater { return true }
            state.onDrained = action
            return false
        }
        if now { action() }
    }

    /// After the last `append`: closes the file (creating it empty if no byte came) and reports
    /// the first write error, nil when every byte is in the file. `done` runs on the queue.
    func finish(_ done: @escaping @Sendable (String?) -> Void) {
        queue.async {
            if self.descriptor < 0 && self.failure == nil { _ = self.open() }
            if self.descriptor >= 0 {
                close(self.descriptor)
                self.descriptor = -1
            }
            let failure = self.failure
            if failure != nil { unlink(self.path) }
            done(failure)
        }
    }

    /// Drops what is not written yet, closes and removes the file.
    func discard() {
        shared.withLock { state in
            if state.failure == nil { state.failure = "download discarded" }
            state.onDrained = nil
        }
        queue.async {
            if self.descriptor >= 0 {
                close(self.descriptor)
                self.descriptor = -1
            }
            unlink(self.path)
        }
    }

    // MARK: Queue

    private func open() -> Bool {
        descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if descriptor < 0 { fail("cannot create \(path): \(String(cString: strerror(errno)))") }
        return descriptor >= 0
    }

    private func write(_ chunk: Data) {
        if failure == nil && (descriptor >= 0 || open()) {
            if let error = chunk.withUnsafeBytes({ DescriptorWrite.all($0, to: descriptor) }) {
                fail("cannot write \(path): \(String(cString: strerror(error)))")
            }
        }
        let drained = shared.withLock { state -> (@Sendable () -> Void)? in
            state.pending -= chunk.count
            guard state.pending <= Self.lowWater, let action = state.onDrained else { return nil }
            state.onDrained = nil
            return action
        }
        drained?()
    }

    private func fail(_ message: String) {
        shared.withLock { state in
            if state.failure == nil { state.failure = message }
        }
    }
}
