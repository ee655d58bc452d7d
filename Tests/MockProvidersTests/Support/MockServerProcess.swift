import Foundation
import Reactor

/// The real `mock-providers` binary, started on a free port for one test and terminated in `tearDown`.
final class MockServerProcess {
    /// Started with posix_spawn: Foundation's `Process.run()` crashes now and then (see `SpawnedProcess`).
    let process: SpawnedProcess
    /// `http://127.0.0.1:PORT`, parsed from the binary's first stdout line.
    let baseURL: String

    /// Where the binary is: beside the test bundle in the products directory (`.build-mock/debug/`), unless
    /// `MOCK_PROVIDERS_BINARY` names it.
    static func binaryPath() throws -> String {
        if let override = ProcessInfo.processInfo.environment["MOCK_PROVIDERS_BINARY"] { return override }
        let testExecutable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = testExecutable.deletingLastPathComponent()
        // On macOS the test binary sits inside `X.xctest/Contents/MacOS/`; climb out of the bundle.
        while directory.path.contains(".xctest") { directory.deleteLastPathComponent() }
        let candidate = directory.appendingPathComponent("mock-providers").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw MockServerError(
                message: "mock-providers binary not found at \(candidate); build it first with "
                    + "`swift build --scratch-path .build-mock --product mock-providers`, or set MOCK_PROVIDERS_BINARY"
            )
        }
        return candidate
    }

    /// Starts the binary with `--port 0` plus `arguments` and waits (at most `timeout` seconds) for its
    /// "listening on" line.
    init(arguments: [String] = [], timeout: TimeInterval = 60) throws {
        let path = try Self.binaryPath()
        var output: [Int32] = [-1, -1]
        guard pipe(&output) == 0 else { throw MockServerError(message: "cannot create a pipe: errno \(errno)") }
        let reading = FileHandle(fileDescriptor: output[0], closeOnDealloc: true)
        do {
            process = try SpawnedProcess(
                executable: path, arguments: ["--port", "0"] + arguments, stdout: .descriptor(output[1]))
        } catch {
            close(output[1])
            throw error
        }
        close(output[1])

        let firstLine = Self.readFirstLine(from: reading, timeout: timeout)
        let prefix = "mock-providers listening on "
        guard let firstLine, firstLine.hasPrefix(prefix), let port = Int(firstLine.split(separator: ":").last ?? "")
        else {
            kill(process.pid, SIGTERM)
            _ = process.wait()
            throw MockServerError(
                message: "mock-providers at \(path) did not print its listening line within \(timeout) s "
                    + "(got \(firstLine.map { "'\($0)'" } ?? "nothing"))"
            )
        }
        baseURL = "http://127.0.0.1:\(port)"
    }

    /// Reads stdout on a background queue so a silent child cannot block the test past `timeout`.
    private static func readFirstLine(from handle: FileHandle, timeout: TimeInterval) -> String? {
        let done = DispatchSemaphore(value: 0)
        let box = LineBox()
        DispatchQueue.global().async {
            var bytes: [UInt8] = []
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                bytes += chunk
                if bytes.contains(0x0A) { break }
            }
            let line = String(decoding: bytes.prefix(while: { $0 != 0x0A }), as: UTF8.self)
            box.set(line.isEmpty ? nil : line)
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        return box.get()
    }

    /// Sends SIGTERM and waits for the process to exit.
    func stop() {
        guard process.isRunning else { return }
        kill(process.pid, SIGTERM)
        _ = process.wait()
    }

    deinit {
        stop()
    }
}

/// The listening line could not be read.
struct MockServerError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A line handed from the reader queue to the test thread.
private final class LineBox: @unchecked Sendable {
    // @unchecked is sound: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value: String?

    func set(_ line: String?) {
        lock.lock()
        value = line
        lock.unlock()
    }

    func get() -> String? {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
