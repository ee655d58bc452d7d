import Foundation
import JSON
import Reactor
import Synchronization

/// The worker's log: one line per event, timestamped, to stderr or a file, as text or JSON.
///
/// Thread-safe, so the loop, the writer and the media pool can all log. Known secrets are
/// redacted from every line before it is written. Lines are appended to a buffer and written by
/// a queue of the log's own, in order: a `write(2)` per line cost the loop a system call three
/// times per job, and a LOG_FILE on a slow disk could stall it. `flush()` waits until every line
/// logged before it is written (the worker calls it before it exits).
public final class WorkerLog: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public var name: String {
            switch self {
            case .debug: "DEBUG"
            case .info: "INFO"
            case .warning: "WARNING"
            case .error: "ERROR"
            }
        }
        public init?(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warning", "warn": self = .warning
            case "error": self = .error
            default: return nil
            }
        }
    }

    public enum Format: String, Sendable { case text, json }

    /// Facts about a job attached to a line (shown in JSON logs; text lines carry them in words).
    public struct Fields: Sendable {
        public var jobID: Int64?
        public var type: String?
        public var provider: String?
        public var slot: Int?
        public var event: String?
        public var duration: Double?
        public init(
            jobID: Int64? = nil, type: String? = nil, provider: String? = nil, slot: Int? = nil, event: String? = nil,
            duration: Double? = nil
        ) {
            self.jobID = jobID
            self.type = type
            self.provider = provider
            self.slot = slot
            self.event = event
            self.duration = duration
        }
    }

    private struct Output {
        var fd: Int32
        var path: String?
    }

    private struct Pending {
        var bytes: [UInt8] = []
        /// A drain is queued and will take what is appended before it runs.
        var drainQueued = false
    }

    /// Taken only on `queue` (writing lines, reopening), never by a thread that logs.
    private let output: Mutex<Output>
    private let pending = Mutex(Pending())
    private let queue = DispatchQueue(label: "reactor-worker.log")
    /// Lines waiting beyond this make the logging thread wait for the disk: memory stays
    /// bounded when the log's disk stalls for long.
    static let pendingLimit = 8 << 20
    public let level: Level
    public let format: Format
    public let redactor: SecretRedactor

    /// Logs to `path` (appending; created if missing) or to stderr when nil.
    public init(
        path: String? = nil, level: Level = .info, format: Format = .text, redactor: SecretRedactor = SecretRedactor()
    ) throws {
        var fd: Int32 = 2
        if let path {
            fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            if fd < 0 { throw JobFailure("cannot open LOG_FILE \(path): \(SystemErrorText.of())") }
        }
        output = Mutex(Output(fd: fd, path: path))
        self.level = level
        self.format = format
        self.redactor = redactor
    }

    /// A log that drops everything (tests of components that need one).
    /// "[Thread-JobWorker-N]": the prefix of every line about the job in slot N, kept word for
    /// word from the design it replaces because monitoring greps it (DESIGN.md "Log lines").
    public static func slotPrefix(_ slot: Int) -> String { "[Thread-JobWorker-\(slot)]" }

    public static func discarding() -> WorkerLog {
        (try? WorkerLog(path: "/dev/null")) ?? (try! WorkerLog())
    }

    /// Reopens the log file (after logrotate moved it; SIGHUP), on the log's queue: in order
    /// with the lines logged before, and without the caller (the loop) waiting for a write to
    /// a slow disk to finish.
    public func reopen() {
        queue.async {
            self.output.withLock { output in
                guard let path = output.path else { return }
                let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
                guard fd >= 0 else { return }
                close(output.fd)
                output.fd = fd
            }
        }
    }

    public func debug(_ message: @autoclosure () -> String, _ fields: Fields = Fields()) {
        write(.debug, message, fields)
    }
    public func info(_ message: @autoclosure () -> String, _ fields: Fields = Fields()) {
        write(.info, message, fields)
    }
    public func warning(_ message: @autoclosure () -> String, _ fields: Fields = Fields()) {
        write(.warning, message, fields)
    }
    public func error(_ message: @autoclosure () -> String, _ fields: Fields = Fields()) {
        write(.error, message, fields)
    }

    private func write(_ lineLevel: Level, _ message: () -> String, _ fields: Fields) {
        guard lineLevel >= level else { return }
        let text = redactor.redact(message())
        let time = Self.timestamp()
        let line: String
        switch format {
        case .text:
            line = "\(time) \(lineLevel.name) \(text)\n"
        case .json:
            var object: [String: JSONValue] = [
                "time": .string(time), "level": .string(lineLevel.name.lowercased()), "message": .string(text),
            ]
            if let id = fields.jobID { object["job_id"] = .number(Double(id)) }
            if let type = fields.type { object["type"] = .string(type) }
            if let provider = fields.provider { object["provider"] = .string(provider) }
            if let slot = fields.slot { object["slot"] = .number(Double(slot)) }
            if let event = fields.event { object["event"] = .string(event) }
            if let duration = fields.duration { object["duration"] = .number((duration * 1000).rounded() / 1000) }
            line = JSONValue.object(object).jsonString() + "\n"
        }
        append(line)
    }

    /// Waits until every line logged before this call is written.
    public func flush() {
        queue.sync { drain() }
    }

    private func append(_ line: String) {
        let (queueDrain, overLimit) = pending.withLock { pending -> (Bool, Bool) in
            pending.bytes.append(contentsOf: line.utf8)
            let queueDrain = !pending.drainQueued
            pending.drainQueued = true
            return (queueDrain, pending.bytes.count > Self.pendingLimit)
        }
        if queueDrain { queue.async { self.drain() } }
        if overLimit { flush() }
    }

    /// Queue only: writes what is pending until nothing is.
    private func drain() {
        while true {
            let bytes = pending.withLock { pending -> [UInt8]? in
                guard !pending.bytes.isEmpty else {
                    pending.drainQueued = false
                    return nil
                }
                var taken: [UInt8] = []
                swap(&taken, &pending.bytes)
                return taken
            }
            guard let bytes else { return }
            // A line that cannot be written has nowhere else to go: it is dropped.
            _ = output.withLock { output in bytes.withUnsafeBytes { DescriptorWrite.all($0, to: output.fd) } }
        }
    }

    /// `2026-11-29T09:07:22.123Z`, built digit by digit into a fixed buffer: every line carries
    /// one, and `String(format:)` would go through CoreFoundation's formatter each time.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let fields: [(value: Int, digits: Int, separator: UInt8)] = [
            (Int(parts.tm_year) + 1900, 4, UInt8(ascii: "-")), (Int(parts.tm_mon) + 1, 2, UInt8(ascii: "-")),
            (Int(parts.tm_mday), 2, UInt8(ascii: "T")), (Int(parts.tm_hour), 2, UInt8(ascii: ":")),
            (Int(parts.tm_min), 2, UInt8(ascii: ":")), (Int(parts.tm_sec), 2, UInt8(ascii: ".")),
            (Int(now.tv_nsec) / 1_000_000, 3, UInt8(ascii: "Z")),
        ]
        return String(unsafeUninitializedCapacity: 24) { text in
            var position = 0
            for field in fields {
                var value = field.value
                for offset in stride(from: field.digits - 1, through: 0, by: -1) {
                    text[position + offset] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                position += field.digits
                text[position] = field.separator
                position += 1
            }
            return position
        }
    }
}
