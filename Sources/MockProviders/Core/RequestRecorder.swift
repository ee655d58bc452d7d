import Foundation
import JSON

/// One provider request as `GET /_mock/requests` reports it.
struct RequestRecord: Sendable {
    let seq: Int
    /// Unix time in seconds at which the body had been read.
    let time: Double
    let provider: Provider
    let method: String
    let path: String
    /// The raw query string, "" when there is none.
    let query: String
    /// Header names lowercased; repeated headers joined with ", ".
    let headers: [(name: String, value: String)]
    /// The parsed JSON body, nil when empty or not JSON. Very large bodies keep their shape with long strings cut.
    let body: JSONValue?
    let bodySize: Int
    /// The outcome the mock planned (`ok`, `rate_limit`, …).
    let outcome: MockOutcome
    /// The HTTP status answered; nil while the request is open or when the client left before an answer.
    var status: Int?
}

/// Counts provider requests and keeps a bounded log of them for tests and benches.
///
/// Thread-safe: each method holds one lock for a few field updates; encoding the log happens outside the lock on a
/// copy. The log keeps at most `limit` records and about `bodyBudget` bytes of bodies, dropping the oldest first.
final class RequestRecorder: Sendable {
    private struct State: Sendable {
        var records: [RequestRecord] = []
        /// Index of the oldest live record; dropped records are compacted away in batches, not one by one.
        var head = 0
        var storedBodyBytes = 0
        var nextSeq = 1
        var requests = 0
        var open = 0
        var maxOpen = 0
        var byProvider: [Provider: Int] = [:]
        var submits: [Provider: Int] = [:]
        var downloads = 0
    }

    /// Bodies above this size are stored with long strings cut, so one huge base64 upload cannot fill memory.
    static let verbatimBodyLimit = 1 << 20
    private static let keptStringLength = 64 << 10

    private let state = LockedState(State())
    private let limit: Int
    private let bodyBudget: Int

    init(limit: Int, bodyBudget: Int = 512 << 20) {
        self.limit = max(1, limit)
        self.bodyBudget = bodyBudget
    }

    /// Counts a provider request as arrived and open. Pair with `finish()`.
    func begin(_ provider: Provider, isSubmit: Bool) {
        state.withLock { state in
            state.requests += 1
            state.open += 1
            state.maxOpen = max(state.maxOpen, state.open)
            state.byProvider[provider, default: 0] += 1
            if isSubmit { state.submits[provider, default: 0] += 1 }
        }
    }

    /// Counts a provider request as answered (or abandoned).
    func finish() {
        state.withLock { $0.open -= 1 }
    }

    /// Counts one fixture download.
    func countDownload() {
        state.withLock { $0.downloads += 1 }
    }

    /// Appends a record and returns its sequence number (numbers keep rising across resets).
    func log(
        provider: Provider, method: String, path: String, query: String, headers: [(name: String, value: String)],
        body: JSONValue?, bodySize: Int, outcome: MockOutcome
    ) -> Int {
        let storedBody = bodySize > Self.verbatimBodyLimit ? body.map(Self.shortened) : body
        let time = Date().timeIntervalSince1970
        return state.withLock { state in
            let seq = state.nextSeq
            state.nextSeq += 1
            state.records.append(
                RequestRecord(
                    seq: seq, time: time, provider: provider, method: method, path: path, query: query,
                    headers: headers, body: storedBody, bodySize: bodySize, outcome: outcome, status: nil
                )
            )
            state.storedBodyBytes += min(bodySize, Self.verbatimBodyLimit)
            while state.records.count - state.head > limit
                || (state.storedBodyBytes > bodyBudget && state.records.count - state.head > 1)
            {
                state.storedBodyBytes -= min(state.records[state.head].bodySize, Self.verbatimBodyLimit)
                state.head += 1
            }
            if state.head > 4096 && state.head * 2 > state.records.count {
                state.records.removeFirst(state.head)
                state.head = 0
            }
            return seq
        }
    }

    /// Sets the answered status of record `seq`, if it is still in the log.
    func setStatus(_ seq: Int, _ status: Int) {
        state.withLock { state in
            guard state.head < state.records.count else { return }
            let index = state.head + (seq - state.records[state.head].seq)
            if index >= state.head && index < state.records.count && state.records[index].seq == seq {
                state.records[index].status = status
            }
        }
    }

    /// Clears the log and all counters; `open` keeps counting requests still in flight.
    func reset() {
        state.withLock { state in
            let open = state.open
            let nextSeq = state.nextSeq
            state = State()
            state.open = open
            state.maxOpen = open
            state.nextSeq = nextSeq
        }
    }

    /// The body of `GET /_mock/stats`.
    func statsJSON() -> JSONValue {
        let snapshot = state.withLock { state in
            (state.requests, state.open, state.maxOpen, state.byProvider, state.submits, state.downloads)
        }
        func counts(_ table: [Provider: Int]) -> JSONValue {
            .object(Dictionary(uniqueKeysWithValues: table.map { ($0.key.rawValue, JSONValue.int($0.value)) }))
        }
        return [
            "requests": .int(snapshot.0), "open": .int(snapshot.1), "max_open": .int(snapshot.2),
            "by_provider": counts(snapshot.3), "submits": counts(snapshot.4), "downloads": .int(snapshot.5),
        ]
    }

    /// The body of `GET /_mock/requests`: records in arrival order, optionally only one provider's and only those
    /// with `seq > since`.
    func requestsJSON(provider: Provider?, since: Int) -> [UInt8] {
        let records = state.withLock { state in Array(state.records[state.head...]) }
        var out: [UInt8] = [UInt8(ascii: "[")]
        var first = true
        for record in records where record.seq > since && (provider == nil || record.provider == provider) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: Self.json(record).jsonBytes())
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    private static func json(_ record: RequestRecord) -> JSONValue {
        [
            "seq": .int(record.seq), "time": .number(record.time), "provider": .string(record.provider.rawValue),
            "method": .string(record.method), "path": .string(record.path), "query": .string(record.query),
            "headers": .object(
                Dictionary(record.headers.map { ($0.name, JSONValue.string($0.value)) }) { _, last in last }),
            "body": record.body ?? .null, "body_size": .int(record.bodySize),
            "outcome": .string(record.outcome.rawValue), "status": record.status.map(JSONValue.int) ?? .null,
        ]
    }

    /// `value` with every string longer than 64 KiB cut to its first 64 KiB plus a marker saying how long it was.
    private static func shortened(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text) where text.utf8.count > keptStringLength:
            let prefix = String(decoding: text.utf8.prefix(keptStringLength), as: UTF8.self)
            return .string(prefix + "…[truncated by mock-providers, \(text.utf8.count) bytes]")
        case .array(let values):
            return .array(values.map(shortened))
        case .object(let object):
            return .object(object.mapValues(shortened))
        default:
            return value
        }
    }
}
