import Foundation
import Reactor

/// A program started by a test (the worker, the mock providers, ffmpeg), with its output
/// captured to files so a test can read the log while it runs. Started with `posix_spawn`
/// (`SpawnedProcess`): Foundation's `Process.run()` crashed a CI run now and then.
public final class ChildProcess: Sendable {
    public let process: SpawnedProcess
    public let stdoutPath: String
    public let stderrPath: String

    public init(
        executable: String, arguments: [String] = [], environment: [String: String]? = nil, directory: String? = nil,
        outputPrefix: String
    ) throws {
        stdoutPath = outputPrefix + ".stdout"
        stderrPath = outputPrefix + ".stderr"
        process = try SpawnedProcess(
            executable: executable, arguments: arguments, environment: environment, directory: directory,
            stdin: .null, stdout: .file(stdoutPath), stderr: .file(stderrPath))
    }

    public var pid: Int32 { process.pid }
    public var isRunning: Bool { process.isRunning }

    public var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    public func signal(_ number: Int32) { kill(process.pid, number) }

    /// The port the program announces on stdout in a line matching `pattern` (the port is the
    /// match's last run of digits), waiting up to `timeout` seconds; nil if it exits or never says.
    public func announcedPort(_ pattern: String, timeout: Double = 30) -> Int? {
        var port: Int?
        Wait.until(timeout: timeout) {
            let output = stdout
            if let range = output.range(of: pattern, options: .regularExpression) {
                let digits = output[range].reversed().prefix { $0.isNumber }.reversed()
                port = Int(String(digits))
            }
            return port != nil || !isRunning
        }
        return port
    }

    /// Waits for exit up to `timeout` seconds; returns the exit status (128 + n after signal n,
    /// as a shell reports it), or nil if still running.
    @discardableResult
    public func waitForExit(timeout: Double) -> Int32? {
        guard Wait.until(timeout: timeout, { !self.process.isRunning }), let ended = process.poll() else { return nil }
        switch ended {
        case .exited(let status): return status
        case .signalled(let number): return 128 + number
        }
    }

    /// Ends the process (SIGKILL after a short grace) if it still runs. For tearDown.
    public func stop() {
        guard process.isRunning else { return }
        signal(SIGTERM)
        if waitForExit(timeout: 5) == nil {
            signal(SIGKILL)
            waitForExit(timeout: 5)
        }
    }
}

/// Waiting on conditions with a deadline, never a fixed sleep.
public enum Wait {
    /// Re-checks `condition` every few milliseconds until it holds or `timeout` passes.
    @discardableResult
    public static func until(timeout: Double, interval: Double = 0.01, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if condition() { return true }
            if Date() >= deadline { return false }
            pause(seconds: interval)
        }
    }

    /// Yields the test thread between checks of a condition.
    public static func pause(seconds: Double) {
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

/// Where `swift build` put the executables: beside the test bundle.
public enum Products {
    public static var directory: String {
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // Linux runs the .xctest file itself; step out of a bundle folder if there is one.
        while url.pathExtension == "xctest" || url.lastPathComponent == "Contents" || url.lastPathComponent == "MacOS" {
            url.deleteLastPathComponent()
        }
        return url.path
    }

    /// The path of a built executable, or nil with a hint when it was not built.
    public static func path(_ name: String) -> String? {
        let path = directory + "/" + name
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }
}
