import Dispatch
import Foundation
import Synchronization

/// The file one download streams into, written on a download queue instead of the loop.
///
/// `write(2)` to a file blocks for as long as the disk or a network filesystem takes (dirty-page
/// throttling during writeback, an NFS server's answer), and while the loop waits every job
/// waits. So the loop only copies each chunk curl hands it and queues it here. The transfer
/// pauses (curl keeps the chunk and reads no more) while more than `highWater` bytes of this
/// file wait to be written, or while the downloads of its client together hold more than their
/// shared budget's high mark, so a slow disk costs memory only up to that: without the shared
/// budget, 2,000 downloads stalled on one NAS could hold 2,000 × 1 MiB.
///
/// Threads: `append`, `finish`, `discard`, `isBehind`, `failure` and `whenDrained` are called on
/// the loop; the descriptor belongs to `queue`, which keeps the file's chunks in order. The
/// counts are `WriteBehindBudget`s and the failure is behind a Mutex; @unchecked Sendable
/// because of `descriptor`, a var only `queue` touches.
final class DownloadFile: @unchecked Sendable {
    static let highWater = 1 << 20
    static let lowWater = 256 << 10

    /// A few lanes shared by all downloads, not one per download: a thread of its own per file
    /// would let 2,000 downloads stalled on a slow disk hold 2,000 threads.
    private static let queues = (0..<4).map { DownloadLane(name: "reactor-downloads-\($0)") }
    /// Buffers for the pieces, shared by every download: as many kept as the default shared
    /// budget lets wait.
    static let pieces = DownloadPieces(kept: HTTPClient.defaultDownloadMemory / DownloadPieces.size)

    let path: String
    /// Chosen by path, so a retry's download of the same temporary name queues behind the
    /// removal of the failed attempt's file instead of racing it on another queue.
    let queue: DownloadLane
    /// Queue only.
    private var descriptor: Int32 = -1
    /// This file's bytes appended and not yet written (or dropped after a failure).
    private let own = WriteBehindBudget(highWater: DownloadFile.highWater, lowWater: DownloadFile.lowWater)
    /// The same count for every download of the client, this one included.
    private let shared: WriteBehindBudget
    /// Why writing stopped: the first write error, or a discard.
    private let stopped = Mutex<String?>(nil)

    init(path: String, shared: WriteBehindBudget) {
        self.path = path
        self.shared = shared
        queue = Self.queues[Int(UInt(bitPattern: path.hashValue) % UInt(Self.queues.count))]
    }

    deinit {
        // Only reached with no block left on the queue, which held the last references.
        if descriptor >= 0 { close(descriptor) }
    }

    /// Whether the transfer should pause: this file's queue is more than `highWater` behind,
    /// or all downloads together are over their shared budget.
    var isBehind: Bool { own.isOver || shared.isOver }

    /// The first error writing met; the transfer should stop.
    var failure: String? { stopped.withLock { $0 } }

    /// Copies `bytes` and writes them on the queue, after everything appended before.
    func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count <= DownloadPieces.size else {
            // curl hands at most a piece at a time; a larger run is copied in pieces.
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + DownloadPieces.size, bytes.count)
                append(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
                offset = end
            }
            return
        }
        let piece = Self.pieces.copy(bytes)
        own.add(piece.count)
        shared.add(piece.count)
        queue.async { self.write(piece) }
    }

    /// Runs `action` once this file's queue is back under `lowWater` and, if the shared budget
    /// is over its high mark by then, once that is back under its low one (on the thread of
    /// the write that got it there); at once if neither waits. A download paused for its own
    /// file does not also wait for the others to drain to the shared low mark. The counts can
    /// rise again in between: a resumed transfer that finds itself behind simply pauses again.
    func whenDrained(_ action: @escaping @Sendable () -> Void) {
        let shared = shared
        own.whenUnder {
            if shared.isOver { shared.whenUnder(action) } else { action() }
        }
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
        stopped.withLock { if $0 == nil { $0 = "download discarded" } }
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
        // O_NONBLOCK: a FIFO nobody reads, left at this name, fails the open instead of hanging
        // a queue other downloads share; writes then block as usual.
        descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0o644)
        if descriptor < 0 {
            fail("cannot create \(path): \(SystemErrorText.of())")
            return false
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        return true
    }

    private func write(_ piece: DownloadPieces.Piece) {
        if failure == nil && (descriptor >= 0 || open()) {
            if let error = DescriptorWrite.all(piece.bytes, to: descriptor) {
                fail("cannot write \(path): \(SystemErrorText.of(error))")
            }
        }
        own.remove(piece.count)
        shared.remove(piece.count)
        Self.pieces.giveBack(piece)
    }

    private func fail(_ message: String) {
        stopped.withLock { if $0 == nil { $0 = message } }
    }
}
