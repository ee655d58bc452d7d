import CCurl
import Foundation

/// One easy handle and everything C holds on to while it runs: the error buffer, the header
/// list, the response being collected. Loop thread only; owned by `HTTPClient.transfers`
/// from `send` until completion or cancel, and reached from C through `CURLOPT_PRIVATE` and
/// the write/header data pointers (unretained: the dictionary keeps it alive).
final class CurlTransfer {
    let id: HTTPClient.TransferID
    let easy: UnsafeMutableRawPointer
    let request: HTTPRequest
    var completion: ((Result<HTTPResponse, HTTPTransportError>) -> Void)?

    /// curl writes its message here; must stay put for the transfer's life (REACTOR-NOTES A.7).
    let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?

    var status = 0
    var headers: [String: String] = [:]
    var body = Data()
    /// Where a download's body goes, written off the loop; nil for answers kept in memory.
    let downloadFile: DownloadFile?
    var downloadedBytes: Int64 = 0
    var writeFailure: String?
    /// Shared with the client: while it says paused, the body callback pauses this transfer.
    let receiveGate: ReceiveGate
    /// Shared with the client's other downloads: how much this loop iteration may still take in.
    let downloadTurn: DownloadTurn
    /// Why the body callback paused this transfer, if it did; `HTTPClient` resumes it.
    enum Hold {
        /// The client's gate was closed (`receivingPaused`): resumed when it opens.
        case gate
        /// The download file's queue, or all downloads together, fell behind: resumed once drained.
        case writer
        /// This loop iteration's share of download bytes was used up (`DownloadTurn`): resumed
        /// in the next iteration.
        case turn
    }
    var held: Hold?
    /// Handed to curl-multi (`StartTurn` may keep it waiting for curl's next action first).
    var isStarted = false
    /// Set by `HTTPClient`: called on the loop when this transfer pauses for its file.
    var onWriterBehind: () -> Void = {}

    /// What the body callback does with a piece of the body.
    enum Take {
        case took
        /// curl keeps the piece and reads no more for this transfer until it is unpaused.
        case pause
        /// The same, until the next loop iteration (`DownloadTurn`).
        case waitForTurn
        case fail
    }

    /// A response held in memory beyond this is refused: provider JSON is megabytes at most,
    /// videos go to files.
    static let memoryBodyLimit = 512 << 20

    init(
        id: HTTPClient.TransferID, request: HTTPRequest, receiveGate: ReceiveGate, downloadBudget: WriteBehindBudget,
        downloadTurn: DownloadTurn, completion: @escaping (Result<HTTPResponse, HTTPTransportError>) -> Void
    ) throws(HTTPTransportError) {
        guard let easy = curl_easy_init() else {
            throw HTTPTransportError(kind: .other, curlCode: -1, message: "libcurl could not create a handle")
        }
        self.id = id
        self.easy = easy
        self.request = request
        self.receiveGate = receiveGate
        self.downloadTurn = downloadTurn
        self.completion = completion
        downloadFile = request.downloadPath.map { DownloadFile(path: $0, shared: downloadBudget) }
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        try configure()
    }

    deinit {
        curl_slist_free_all(headerList)
        curl_easy_cleanup(easy)
        errorBuffer.deallocate()
    }

    private func configure() throws(HTTPTransportError) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        try check(ccurl_easy_setopt_str(easy, CURLOPT_URL, request.url), "URL")
        try check(ccurl_easy_setopt_ptr(easy, CURLOPT_PRIVATE, me), "PRIVATE")
        try check(ccurl_easy_setopt_ptr(easy, CURLOPT_ERRORBUFFER, errorBuffer), "ERRORBUFFER")
        // Threads exist in this process: curl must not touch signal handlers (A.8).
        try check(ccurl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1), "NOSIGNAL")
        // Removing a transfer whose name is still resolving must not join the resolver thread
        // on the loop (A.11).
        try check(ccurl_easy_setopt_long(easy, CURLOPT_QUICK_EXIT, 1), "QUICK_EXIT")
        try check(ccurl_easy_setopt_str(easy, CURLOPT_PROTOCOLS_STR, "http,https"), "PROTOCOLS")
        try check(ccurl_easy_setopt_str(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"), "REDIR_PROTOCOLS")
        try check(ccurl_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 1), "FOLLOWLOCATION")
        try check(ccurl_easy_setopt_long(easy, CURLOPT_MAXREDIRS, 5), "MAXREDIRS")
        try check(ccurl_easy_setopt_str(easy, CURLOPT_ACCEPT_ENCODING, ""), "ACCEPT_ENCODING")
        if request.timeout > 0 {
            try check(ccurl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Int(request.timeout * 1000)), "TIMEOUT_MS")
            try check(
                ccurl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Int(min(request.timeout, 30) * 1000)),
                "CONNECTTIMEOUT_MS")
        }
        if request.downloadPath == nil {
            // API answers are small; curl's default 16 KiB receive buffer per transfer would be
            // 32 MB of heap with 2,000 in flight. Downloads keep the default.
            try check(ccurl_easy_setopt_long(easy, CURLOPT_BUFFERSIZE, 2048), "BUFFERSIZE")
        }
        if request.downloadPath != nil {
            // Large downloads of unknown length: fail on a stall instead of a fixed cap (A.10).
            try check(ccurl_easy_setopt_long(easy, CURLOPT_LOW_SPEED_LIMIT, 1), "LOW_SPEED_LIMIT")
            try check(ccurl_easy_setopt_long(easy, CURLOPT_LOW_SPEED_TIME, 60), "LOW_SPEED_TIME")
        }
        try check(ccurl_easy_setopt_write(easy, CURLOPT_WRITEFUNCTION, curlWriteBody), "WRITEFUNCTION")
        try check(ccurl_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, me), "WRITEDATA")
        try check(ccurl_easy_setopt_write(easy, CURLOPT_HEADERFUNCTION, curlWriteHeader), "HEADERFUNCTION")
        try check(ccurl_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, me), "HEADERDATA")
        // curl 7.88 opens sockets without CLOEXEC; ffmpeg children must not inherit them (A.12).
        try check(ccurl_easy_setopt_sockopt(easy, curlMarkSocketCloseOnExec), "SOCKOPTFUNCTION")
        try configureMethodAndBody()
        // "Expect: 100-continue" would add a round trip to every POST over 1 KiB.
        var list: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "Expect:")
        for (name, value) in request.headers {
            list = curl_slist_append(list, "\(name): \(value)")
        }
        headerList = list
        try check(ccurl_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(list)), "HTTPHEADER")
    }

    private func configureMethodAndBody() throws(HTTPTransportError) {
        let method = request.method.uppercased()
        if method == "HEAD" {
            try check(ccurl_easy_setopt_long(easy, CURLOPT_NOBODY, 1), "NOBODY")
            return
        }
        if let body = request.body {
            // COPYPOSTFIELDS copies the bytes; plain POSTFIELDS would point into Swift memory (A.7).
            try check(ccurl_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)), "POSTFIELDSIZE")
            let code = body.withUnsafeBytes { raw in
                ccurl_easy_setopt_ptr(
                    easy, CURLOPT_COPYPOSTFIELDS,
                    UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            }
            try check(code, "COPYPOSTFIELDS")
        }
        if method != "GET" && !(method == "POST" && request.body != nil) {
            try check(ccurl_easy_setopt_str(easy, CURLOPT_CUSTOMREQUEST, method), "CUSTOMREQUEST")
        }
    }

    private func check(_ code: CURLcode, _ option: String) throws(HTTPTransportError) {
        guard code != CURLE_OK else { return }
        let text = String(cString: curl_easy_strerror(code))
        throw HTTPTransportError(
            kind: .other, curlCode: Int32(code.rawValue), message: "could not set \(option): \(text)")
    }

    // MARK: Receiving

    /// Called from curl's write callback with each piece of the body.
    func receive(_ bytes: UnsafeRawBufferPointer) -> Take {
        if status == 0 {
            var code = 0
            _ = ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
            status = code
        }
        // Only a successful body goes to the file; an error body stays in memory for the message.
        if let downloadFile, (200..<300).contains(status) {
            if let failure = downloadFile.failure {
                writeFailure = failure
                return .fail
            }
            if downloadFile.isBehind { return .pause }
            if downloadTurn.isSpent { return .waitForTurn }
            downloadTurn.take(bytes.count)
            downloadFile.append(bytes)
            downloadedBytes += Int64(bytes.count)
            return .took
        }
        if body.count + bytes.count > Self.memoryBodyLimit {
            writeFailure = "response body larger than \(Self.memoryBodyLimit >> 20) MiB"
            return .fail
        }
        body.append(contentsOf: bytes)
        return .took
    }

    /// Called from curl's header callback with one raw header line. Works on bytes: every answer
    /// has a dozen headers, and Foundation's `trimmingCharacters` goes through character sets.
    func receiveHeader(_ line: UnsafeRawBufferPointer) {
        let bytes = line.bindMemory(to: UInt8.self)
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        var start = 0
        var end = bytes.count
        while start < end && isSpace(bytes[start]) { start += 1 }
        while end > start && isSpace(bytes[end - 1]) { end -= 1 }
        guard start < end else { return }
        if end - start >= 5 && bytes[start] == 0x48 && bytes[start + 1] == 0x54 && bytes[start + 2] == 0x54
            && bytes[start + 3] == 0x50 && bytes[start + 4] == 0x2F
        {
            // "HTTP/": a new response (redirect, 100 Continue): forget the previous one's headers.
            headers.removeAll()
            status = 0
            return
        }
        guard let colon = (start..<end).first(where: { bytes[$0] == 0x3A }) else { return }
        var valueStart = colon + 1
        while valueStart < end && isSpace(bytes[valueStart]) { valueStart += 1 }
        // Header names are ASCII (RFC 9110): lower-cased byte by byte, not through Unicode
        // `lowercased()`.
        let name = String(unsafeUninitializedCapacity: colon - start) { text in
            for offset in 0..<(colon - start) {
                let byte = bytes[start + offset]
                text[offset] = byte &- 0x41 < 26 ? byte | 0x20 : byte
            }
            return colon - start
        }
        let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[valueStart..<end]), as: UTF8.self)
        // Providers send 8–20 headers; growing the table from one entry rehashed it four times.
        if headers.isEmpty { headers.reserveCapacity(16) }
        if let existing = headers[name] {
            headers[name] = existing + ", " + value
        } else {
            headers[name] = value
        }
        // Room for the whole body at once: appending 2 KiB pieces to a growing buffer would copy
        // a 16 KB answer several times over. Capped: the header is the server's word, not a promise.
        if name == "content-length", request.downloadPath == nil, let length = Int(value), length > body.count {
            body.reserveCapacity(min(length, 8 << 20))
        }
    }

    /// How the transfer ended as curl saw it. A successful download is complete only once its
    /// file is (`HTTPClient` waits for `downloadFile.finish`).
    func outcome(code: CURLcode) -> Result<HTTPResponse, HTTPTransportError> {
        var responseCode = 0
        _ = ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &responseCode)
        if let writeFailure {
            removePartialDownload()
            return .failure(HTTPTransportError(kind: .localFile, curlCode: Int32(code.rawValue), message: writeFailure))
        }
        guard code == CURLE_OK else {
            removePartialDownload()
            return .failure(transportError(code))
        }
        if downloadFile != nil && !(200..<300).contains(responseCode) { removePartialDownload() }
        return .success(
            HTTPResponse(status: responseCode, headers: headers, body: body, downloadedBytes: downloadedBytes))
    }

    func transportError(_ code: CURLcode) -> HTTPTransportError {
        let detail = String(cString: errorBuffer)
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        let kind: HTTPTransportError.Kind
        switch code {
        case CURLE_OPERATION_TIMEDOUT: kind = .timeout
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: kind = .couldNotResolve
        case CURLE_COULDNT_CONNECT: kind = .couldNotConnect
        default: kind = .other
        }
        return HTTPTransportError(kind: kind, curlCode: Int32(code.rawValue), message: message)
    }

    func removePartialDownload() {
        downloadFile?.discard()
    }
}

/// Whether the client takes answers in now. Loop thread only (read by curl's callbacks, which
/// run inside `curl_multi_socket_action` on the loop).
final class ReceiveGate {
    var paused = false
}

// C callbacks: no captures allowed, so context arrives through curl's data pointers (C.4).

private let curlWriteBody: curl_write_callback = { pointer, size, count, userdata in
    guard let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    if transfer.receiveGate.paused && length > 0 {
        // curl keeps these bytes and reads no more for this transfer until it is unpaused (A.12).
        transfer.held = .gate
        return Int(ccurl_writefunc_pause())
    }
    switch transfer.receive(UnsafeRawBufferPointer(start: pointer, count: length)) {
    case .took: return length
    case .fail: return Int(ccurl_writefunc_error())
    case .pause:
        transfer.held = .writer
        transfer.onWriterBehind()
        return Int(ccurl_writefunc_pause())
    case .waitForTurn:
        transfer.held = .turn
        transfer.downloadTurn.wait(transfer.id)
        return Int(ccurl_writefunc_pause())
    }
}

private let curlWriteHeader: curl_write_callback = { pointer, size, count, userdata in
    guard let userdata, let pointer else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    transfer.receiveHeader(UnsafeRawBufferPointer(start: pointer, count: length))
    return length
}

private let curlMarkSocketCloseOnExec: curl_sockopt_callback = { _, fd, _ in
    _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
    return Int32(CURL_SOCKOPT_OK)
}
