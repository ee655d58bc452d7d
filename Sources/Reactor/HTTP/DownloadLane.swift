import Foundation

/// One thread of our own that runs blocks in order, at a lowered priority (`ThreadPriority`):
/// where a download's bytes are written. Four of them copying hundreds of MB/s into the page
/// cache on two cores otherwise kept the loop waiting for a core as long as it ran. Dispatch
/// queues would run the writes on its shared threads, and a lowered one of those would stay
/// lowered for the media pool and the output writers.
final class DownloadLane: Sendable {
    private let condition = NSCondition()
    /// Guarded by `condition`.
    nonisolated(unsafe) private var blocks: [@Sendable () -> Void] = []

    init(name: String) {
        let thread = Thread { [self] in self.serve() }
        thread.name = name
        thread.start()
    }

    /// Runs `block` on the lane's thread after every block queued before it.
    func async(_ block: @escaping @Sendable () -> Void) {
        condition.lock()
        blocks.append(block)
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        ThreadPriority.lower()
        while true {
            condition.lock()
            while blocks.isEmpty { condition.wait() }
            // All that waits, in order, at once: taking one at a time would shift the rest of the
            // array down on every block, with thousands of a slow disk's writes queued.
            let ready = blocks
            blocks.removeAll(keepingCapacity: true)
            condition.unlock()
            for block in ready { block() }
        }
    }
}
