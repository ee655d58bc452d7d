import Reactor

/// The writes one loop iteration makes, handed to the writer together just before the loop
/// sleeps (`EventLoop.handOverBeforeSleep`): a job's completion and the claim of the job that takes
/// its slot land in one transaction, and a burst of updates costs one commit. Writes from another
/// thread go to the writer at once. Loop thread only, but for `add` from elsewhere.
final class IterationWrites {
    private let loop: EventLoop
    private let writer: WriterQueue
    private var items: [WriterQueue.Item] = []
    /// How many times a batch was handed to the writer (each becomes one transaction, or shares one).
    private(set) var handOvers = 0

    init(loop: EventLoop, writer: WriterQueue) {
        self.loop = loop
        self.writer = writer
    }

    func add(_ item: WriterQueue.Item) {
        guard loop.inLoop else {
            writer.submit(item)
            return
        }
        if items.isEmpty {
            loop.handOverBeforeSleep { [weak self] in self?.handOver() }
        }
        items.append(item)
    }

    /// Hands what this iteration collected to the writer now.
    func handOver() {
        let batch = items
        items.removeAll()
        handOvers += 1
        writer.submit(batch)
    }
}

@available(*, unavailable, message: "a loop iteration's writes belong to the loop thread")
extension IterationWrites: Sendable {}
