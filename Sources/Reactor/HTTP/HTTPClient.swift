import CCurl
import Foundation

/// Asynchronous HTTP on the event loop: any number of requests in flight on one thread,
/// connections and DNS answers reused across them (one curl-multi connection cache).
///
/// Loop thread only: create it, `send`, and `cancel` on the loop; completions run there too.
public final class HTTPClient {
    public typealias Completion = (Result<HTTPResponse, HTTPTransportError>) -> Void

    /// Identifies a request in flight, for `cancel`.
    public struct TransferID: Hashable, Sendable {
        let value: UInt64
    }

    private let loop: EventLoop
    private let multi: CurlMulti
    private var transfers: [TransferID: CurlTransfer] = [:]
    private let receiveGate = ReceiveGate()
    private let downloadBudget: WriteBehindBudget
    private let downloadTurn: DownloadTurn
    private let startTurn: StartTurn
    private var nextID: UInt64 = 1

    /// How many bytes downloads may hold in memory together, waiting for their files' queues,
    /// before every download pauses (each one also pauses alone past `DownloadFile.highWater`).
    /// This bounds memory, not progress: on a hung mount every download whose file shares a
    /// queue with a stuck one waits too, and their bytes can keep all downloads paused.
    public static let defaultDownloadMemory = 16 << 20
    /// How many bytes downloads take in per loop iteration, together (`DownloadTurn`).
    public static let defaultDownloadBytesPerTurn = DownloadTurn.defaultLimit
    /// How many requests are handed to curl in one iteration (`StartTurn`).
    public static let defaultStartsPerTurn = StartTurn.defaultLimit
    /// What handing one request to curl takes from its iteration's download bytes (`StartTurn`).
    public static let startReadingCost = StartTurn.readingCost

    /// `maxConnections`: idle connections kept for reuse (at least as many as requests that run
    /// at once). `downloadMemory`: the shared budget of download bytes not yet on the disk; they
    /// resume once under half of it. `downloadBytesPerTurn`: how many bytes all downloads together
    /// take in during one loop iteration (`DownloadTurn`). `startsPerTurn`: how many requests
    /// are handed to curl in one iteration and before curl begins them (`StartTurn`).
    public init(
        loop: EventLoop, maxConnections: Int = 64, downloadMemory: Int = defaultDownloadMemory,
        downloadBytesPerTurn: Int = defaultDownloadBytesPerTurn, startsPerTurn: Int = defaultStartsPerTurn
    ) {
        self.loop = loop
        downloadBudget = WriteBehindBudget(highWater: downloadMemory, lowWater: downloadMemory / 2)
        downloadTurn = DownloadTurn(loop: loop, limit: downloadBytesPerTurn)
        startTurn = StartTurn(loop: loop, limit: startsPerTurn)
        multi = CurlMulti(loop: loop, maxConnections: maxConnections)
        downloadTurn.turnEnded = { [unowned self] ids in self.resumeNextTurn(ids) }
        multi.onActed = { [unowned self] in self.curlActed() }
        startTurn.handOverSoon = { [unowned self] in self.handOverNextIteration() }
        multi.onDone = { [unowned self] easy, code in self.finished(easy: easy, code: code) }
        multi.onFatal = { [unowned self] message in self.failEverything(message) }
    }

    /// Requests in flight.
    public var activeCount: Int { transfers.count }

    /// Bytes downloads received that their files' queues have not written yet.
    public var downloadBytesWaiting: Int { downloadBudget.pending }

    /// The most download bytes one loop iteration took in (`DownloadTurn`).
    public var largestDownloadTurn: Int { downloadTurn.largest }

    /// The most one loop iteration's download share was charged: bytes taken in, plus
    /// `startReadingCost` for each request handed to curl.
    public var largestDownloadTurnCharged: Int { downloadTurn.largestCharged }

    /// Downloads paused until their file, or the downloads' shared memory budget, catches up
    /// with a slow disk.
    public var downloadsWaitingForDisk: Int {
        loop.assertInLoop()
        return transfers.values.count { $0.held == .writer }
    }

    /// Back-pressure: while true, no answer is read from any socket (they wait in the kernel's
    /// buffers); requests are still sent and timeouts still run. For a consumer that has fallen
    /// behind on what earlier answers produced.
    ///
    /// Two layers, because curl also reads on its own (after a request is sent, on timeouts):
    /// no socket is watched for reading, and the body callback pauses any transfer that still
    /// gets data (curl then keeps that one buffer and reads no more for it). Resuming unpauses
    /// those transfers; curl may hand over their held bytes during this call.
    public var receivingPaused: Bool {
        get { receiveGate.paused }
        set {
            loop.assertInLoop()
            guard newValue != receiveGate.paused else { return }
            receiveGate.paused = newValue
            multi.readingPaused = newValue
            guard !newValue else { return }
            for transfer in transfers.values where transfer.held == .gate {
                transfer.held = nil
                _ = ccurl_easy_unpause(transfer.easy)
            }
        }
    }

    /// Sends `request`; `completion` runs on the loop once with the response or the transport
    /// error (never from inside this call). Past the share of requests handed to curl in one
    /// iteration, or not yet begun by it (`StartTurn`), it is handed over in a later iteration,
    /// in the order sent.
    @discardableResult
    public func send(_ request: HTTPRequest, completion: @escaping Completion) -> TransferID {
        loop.assertInLoop()
        let id = TransferID(value: nextID)
        nextID += 1
        do throws(HTTPTransportError) {
            let transfer = try CurlTransfer(
                id: id, request: request, receiveGate: receiveGate, downloadBudget: downloadBudget,
                downloadTurn: downloadTurn, completion: completion)
            transfer.onWriterBehind = { [unowned self] in self.resumeWhenWritten(id) }
            transfers[id] = transfer
            if startTurn.admit() { start(transfer) } else { startTurn.wait(id) }
        } catch {
            loop.execute { [completion = LoopBound(completion, on: loop)] in completion.value(.failure(error)) }
        }
        return id
    }

    /// Hands `transfer` to curl; if curl refuses it, it fails (from the loop's queue, as every
    /// completion runs outside `send`).
    private func start(_ transfer: CurlTransfer) {
        let code = multi.add(transfer.easy)
        guard code != CURLM_OK else {
            transfer.isStarted = true
            startTurn.handedOver()
            // Beginning a request costs this iteration's reading a share (`StartTurn.readingCost`).
            downloadTurn.charge(Self.startReadingCost)
            return
        }
        transfers.removeValue(forKey: transfer.id)
        let error = HTTPTransportError(
            kind: .other, curlCode: Int32(code.rawValue), message: String(cString: curl_multi_strerror(code)))
        let completion = transfer.completion
        transfer.completion = nil
        loop.execute { [completion = LoopBound(completion, on: loop)] in completion.value?(.failure(error)) }
    }

    /// curl acted, so it began every request handed to it before: hand over the waiting ones.
    /// Runs before the finished transfers' completions, whose new requests queue behind these.
    private func curlActed() {
        startTurn.curlActed()
        handOverWaiting()
    }

    /// The waiting requests, oldest first, as many as there is room for (`StartTurn`), skipping
    /// those cancelled meanwhile.
    private func handOverWaiting() {
        while let id = startTurn.nextWaiting() {
            if let transfer = transfers[id], !transfer.isStarted { start(transfer) }
        }
    }

    /// Requests wait with nothing of theirs for curl to begin: handed over in the next
    /// iteration, through the loop's queue.
    private func handOverNextIteration() {
        let back = onLoop { (client, _: Void) in client.handOverWaiting() }
        back(())
    }

    /// Requests sent but not yet handed to curl (`StartTurn`).
    public var requestsWaitingToStart: Int { startTurn.waitingCount }

    /// The most requests handed to curl in one loop iteration (`StartTurn`).
    public var largestStartTurn: Int { startTurn.largest }

    /// Stops a request in flight; its completion is not called. Unknown or finished ids are
    /// ignored, so a late cancel is harmless.
    public func cancel(_ id: TransferID) {
        loop.assertInLoop()
        guard let transfer = transfers.removeValue(forKey: id) else { return }
        if transfer.isStarted { multi.remove(transfer.easy) }
        transfer.removePartialDownload()
        transfer.completion = nil
    }

    private func finished(easy: UnsafeMutableRawPointer, code: CURLcode) {
        var raw: UnsafeMutableRawPointer?
        _ = ccurl_easy_getinfo_ptr(easy, CURLINFO_PRIVATE, &raw)
        guard let raw else { return }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(raw).takeUnretainedValue()
        let outcome = transfer.outcome(code: code)
        if let file = transfer.downloadFile, case .success(let response) = outcome, response.isSuccess {
            // Done once the file's queue has written every byte; until then the transfer stays
            // listed, so `cancel` still stops its completion (and removes the file).
            let id = transfer.id
            let back = onLoop { client, failure in client.fileFinished(id, outcome: outcome, failure: failure) }
            file.finish(back)
            return
        }
        transfers.removeValue(forKey: transfer.id)
        let completion = transfer.completion
        transfer.completion = nil
        completion?(outcome)
    }

    private func fileFinished(
        _ id: TransferID, outcome: Result<HTTPResponse, HTTPTransportError>, failure: String?
    ) {
        guard let transfer = transfers.removeValue(forKey: id), let completion = transfer.completion else { return }
        transfer.completion = nil
        if let failure {
            completion(.failure(HTTPTransportError(kind: .localFile, curlCode: 0, message: failure)))
        } else {
            completion(outcome)
        }
    }

    /// A download paused because its file's queue, or all downloads together, fell behind:
    /// resume it once they have caught up, unless it ended or receiving as a whole is paused by then.
    private func resumeWhenWritten(_ id: TransferID) {
        guard let file = transfers[id]?.downloadFile else { return }
        let back = onLoop { (client, _: Void) in client.resume(id, heldFor: .writer) }
        file.whenDrained { back(()) }
    }

    /// Downloads that waited for the next iteration's share (`DownloadTurn`): resumed in it,
    /// through the loop's queue, so what curl hands over on resuming is that iteration's work.
    private func resumeNextTurn(_ ids: [TransferID]) {
        let back = onLoop { (client, ids: [TransferID]) in
            for id in ids { client.resume(id, heldFor: .turn) }
        }
        back(ids)
    }

    /// Unpauses transfer `id` if it is still paused for `reason`, unless receiving as a whole is
    /// paused by then: it resumes with the others when receiving does.
    private func resume(_ id: TransferID, heldFor reason: CurlTransfer.Hold) {
        guard let transfer = transfers[id], transfer.held == reason else { return }
        if receiveGate.paused {
            transfer.held = .gate
        } else {
            transfer.held = nil
            _ = ccurl_easy_unpause(transfer.easy)
        }
    }

    /// A callback for another thread that runs `work` on the loop with this client, or not at
    /// all once the client is gone.
    private func onLoop<Value: Sendable>(_ work: @escaping (HTTPClient, Value) -> Void) -> @Sendable (Value) -> Void {
        let loop = loop
        let target = LoopBound((client: { [weak self] in self }, work: work), on: loop)
        return { value in
            loop.execute {
                if let client = target.value.client() { target.value.work(client, value) }
            }
        }
    }

    private func failEverything(_ message: String) {
        let all = transfers
        transfers.removeAll()
        startTurn.forgetWaiting()
        for transfer in all.values {
            if transfer.isStarted { multi.remove(transfer.easy) }
            transfer.removePartialDownload()
            let completion = transfer.completion
            transfer.completion = nil
            completion?(
                .failure(HTTPTransportError(kind: .other, curlCode: -1, message: "curl multi failed: \(message)")))
        }
    }
}

@available(*, unavailable, message: "an HTTP client belongs to its loop's thread")
extension HTTPClient: Sendable {}
