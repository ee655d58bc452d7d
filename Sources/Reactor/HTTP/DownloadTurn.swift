/// How many download bytes one loop iteration takes in, across every download.
///
/// curl reads a socket up to a hundred times per call when data is waiting, and libev hands the
/// loop every ready socket at once: with 200 fast downloads one iteration took in 35 MB and ran
/// 60 ms on the CPU, and every timer and socket waited that long. Past `limit` in an iteration,
/// each download that gets more pauses (curl keeps the piece) and resumes in the next iteration,
/// so an iteration's reading is bounded and the downloads take turns. Loop thread only.
final class DownloadTurn {
    /// 4 MiB: about 7 ms of the loop's CPU on this machine's bench, far under a stall worth
    /// noticing, and over 100 iterations a second it still allows 400 MB/s.
    static let defaultLimit = 4 << 20

    let limit: Int
    private let loop: EventLoop
    /// Gets the downloads that waited, at the end of the iteration they waited in.
    var turnEnded: ([HTTPClient.TransferID]) -> Void = { _ in }
    /// What this iteration's share was charged: bytes downloads took in, plus other work that
    /// competes with reading (`charge`).
    private var taken = 0
    /// Bytes downloads took in during this iteration.
    private var takenBytes = 0
    /// The most bytes any one iteration took in.
    private(set) var largest = 0
    /// The most any one iteration's share was charged, bytes and other work together.
    private(set) var largestCharged = 0
    /// Downloads paused because this iteration's share ran out, to resume in the next.
    private var waiting: [HTTPClient.TransferID] = []

    init(loop: EventLoop, limit: Int) {
        self.loop = loop
        self.limit = max(limit, 1)
    }

    /// Whether this iteration's share is used up: a download that gets more waits (`wait`).
    var isSpent: Bool { taken >= limit }

    func take(_ count: Int) {
        charge(count)
        takenBytes += count
        largest = max(largest, takenBytes)
    }

    /// Counts other work done in this iteration against its share, as if it were `cost` bytes
    /// read (a request handed to curl, `StartTurn.readingCost`), so reading yields to it.
    func charge(_ cost: Int) {
        if taken == 0 { loop.beforeSleep { [self] in endTurn() } }
        taken += cost
        largestCharged = max(largestCharged, taken)
    }

    /// `id` paused until the next iteration.
    func wait(_ id: HTTPClient.TransferID) {
        waiting.append(id)
    }

    private func endTurn() {
        taken = 0
        takenBytes = 0
        guard !waiting.isEmpty else { return }
        let resumed = waiting
        waiting.removeAll()
        turnEnded(resumed)
    }
}

@available(*, unavailable, message: "a download turn belongs to its loop's thread")
extension DownloadTurn: Sendable {}
