/// How many new requests curl is handed at once, across every caller.
///
/// curl begins every handle added since its last action in its next action, in one call. With
/// 200 animations whose tasks finished together, one action sent 200 requests, and each send
/// woke the server (on this machine, the mock on the same two cores), which preempted the loop
/// 64–183 times: 8–12 ms of work took 44–61 ms, and every timer and socket waited that long.
///
/// So at most `limit` requests are handed to curl in one loop iteration, and no more while
/// curl has not begun them; the rest wait in order and are handed over at curl's first action
/// in a later iteration. Both rules are needed: iterations that only hand over run in
/// microseconds, under curl's 1 ms timer for new handles, so a share per iteration alone still
/// let curl begin all 200 in one action; and one iteration serves many sockets, each an action,
/// so a share per action alone let all 200 through in one iteration. Each start also takes
/// `readingCost` from its iteration's download share (`DownloadTurn.charge`): spread-out starts
/// otherwise landed in iterations that also read their full 4 MiB, and the fast downloads case
/// got worse (longest iteration 98.7 ms at the median, against 53.1 without the share). Loop
/// thread only.
final class StartTurn {
    /// 64: as many as the bench's busiest steady state hands over in one iteration (C = 64 at
    /// no latency), so only a burst waits.
    static let defaultLimit = 64
    /// What one request handed to curl takes from its iteration's download share
    /// (`DownloadTurn`): a full share of starts (64 × 64 KiB = 4 MiB) leaves that iteration no
    /// reading, so starting a burst and reading at full speed do not land in one iteration.
    static let readingCost = 64 << 10

    let limit: Int
    private let loop: EventLoop
    /// Called at the end of an iteration when requests wait and curl has nothing of theirs to
    /// begin (so no action of curl's is due for them): the client hands them over in the next.
    var handOverSoon: () -> Void = {}
    /// Handed to curl since its last action: curl has not begun them yet.
    private var unbegun = 0
    /// Handed to curl during this iteration.
    private var handedThisIteration = 0
    /// The most handed to curl in one iteration.
    private(set) var largest = 0
    /// Requests past the share, oldest first from `head` on.
    private var waiting: [HTTPClient.TransferID] = []
    private var head = 0

    init(loop: EventLoop, limit: Int) {
        self.loop = loop
        self.limit = max(limit, 1)
    }

    /// Requests waiting to be handed to curl.
    var waitingCount: Int { waiting.count - head }

    private var hasRoom: Bool { unbegun < limit && handedThisIteration < limit }

    /// Whether a request may be handed to curl now (then call `handedOver`). Never while
    /// others wait, so requests begin in the order they were sent.
    func admit() -> Bool {
        waitingCount == 0 && hasRoom
    }

    /// A request was handed to curl, which begins it in its next action.
    func handedOver() {
        if handedThisIteration == 0 { loop.beforeSleep { [self] in endIteration() } }
        handedThisIteration += 1
        unbegun += 1
        largest = max(largest, handedThisIteration)
    }

    /// `id` waits for room: curl's next action, or the next iteration, hands it over.
    func wait(_ id: HTTPClient.TransferID) {
        waiting.append(id)
    }

    /// curl acted: whatever was handed to it before has begun.
    func curlActed() {
        unbegun = 0
    }

    /// The oldest waiting request, if there is room; the client hands it over (and calls
    /// `handedOver`) unless it was cancelled meanwhile.
    func nextWaiting() -> HTTPClient.TransferID? {
        guard hasRoom, head < waiting.count else { return nil }
        let id = waiting[head]
        head += 1
        if head == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            head = 0
        }
        return id
    }

    /// Forgets every waiting request (the client failed them all).
    func forgetWaiting() {
        waiting.removeAll()
        head = 0
    }

    private func endIteration() {
        handedThisIteration = 0
        // With handles curl has not begun, its timer brings an action next iteration.
        if waitingCount > 0 && unbegun == 0 { handOverSoon() }
    }
}

@available(*, unavailable, message: "a start turn belongs to its loop's thread")
extension StartTurn: Sendable {}
