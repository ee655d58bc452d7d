import Reactor

/// The writes one loop iteration makes, handed to the writer together just before the loop
/// sleeps (`EventLoop.handOverBeforeSleep`): a job's completion and the claim of the job that takes
/// its slot land in one transaction, and a burst of updates costs one commit. Writes from another
/// thread go to the writer at once. Loop thread only, but for `add` and `record` from elsewhere.
///
/// The iteration's spend entries and completions are written many rows to a statement
/// (`StoreSpend`, `StoreCompletions`), first in its batch: before the claim that refills their
/// slots, which then also sees the pipeline steps they released. Nothing else an iteration records
/// depends on coming before them: progress and provider task updates are written whatever the
/// job's status, and a budget check that sees the new spend already is only the more exact.
final class IterationWrites {
    private let loop: EventLoop
    private let writer: WriterQueue
    /// `AND (lease_owner IS NULL OR lease_owner = …)`: updates touch only rows this worker holds.
    private let mine: String
    private var items: [WriterQueue.Item] = []
    private var completions: [StoreCompletions.Completion] = []
    private var spend: [SpendEntry] = []
    /// How many times a batch was handed to the writer (each becomes one transaction, or shares one).
    private(set) var handOvers = 0

    init(loop: EventLoop, writer: WriterQueue, mine: String) {
        self.loop = loop
        self.writer = writer
        self.mine = mine
    }

    /// Writes `update` with this iteration's batch.
    func record(_ update: JobUpdate) {
        let mine = mine
        if loop.inLoop {
            switch update {
            case .completed(let id, let result):
                handOverBeforeSleep()
                return completions.append(StoreCompletions.Completion(id: id, result: result))
            case .spend(let entry):
                handOverBeforeSleep()
                return spend.append(entry)
            default:
                break
            }
        }
        add(WriterQueue.Item(apply: { try StoreUpdates.apply(update, mine: mine, on: $0) }, afterCommit: nil))
    }

    func add(_ item: WriterQueue.Item) {
        guard loop.inLoop else {
            writer.submit(item)
            return
        }
        handOverBeforeSleep()
        items.append(item)
    }

    private func handOverBeforeSleep() {
        if items.isEmpty && completions.isEmpty && spend.isEmpty {
            loop.handOverBeforeSleep { [weak self] in self?.handOver() }
        }
    }

    /// Hands what this iteration collected to the writer now.
    func handOver() {
        var batch: [WriterQueue.Item] = []
        if !spend.isEmpty { batch.append(StoreSpend.item(spend)) }
        if !completions.isEmpty { batch.append(StoreCompletions.item(completions, mine: mine)) }
        batch += items
        items.removeAll()
        completions.removeAll()
        spend.removeAll()
        handOvers += 1
        writer.submit(batch)
    }
}

@available(*, unavailable, message: "a loop iteration's writes belong to the loop thread")
extension IterationWrites: Sendable {}
