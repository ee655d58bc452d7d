import Foundation

/// The built `reactor-worker` run in a workspace, with its log captured.
public final class WorkerProcess {
    public let child: ChildProcess
    public let workspace: Workspace

    /// Starts `reactor-worker <arguments>` (default `run`) with only the given environment
    /// (plus PATH and HOME), so the developer's own keys never leak into a test. The dashboard
    /// is off unless `environment` sets WEB_ADDRESS: tests run side by side, and would all
    /// reach for port 5001.
    public init(
        workspace: Workspace, arguments: [String] = ["run"], environment: [String: String] = [:],
        name: String = "worker"
    ) throws {
        guard let executable = Products.path("reactor-worker") else {
            throw TestSupportError("reactor-worker is not built in \(Products.directory); run `swift build` first")
        }
        var env = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": workspace.directory,
            "JOBS_DB": workspace.databasePath, "OUTPUT_DIR": workspace.outputDirectory, "WEB_ADDRESS": "off",
        ]
        for (key, value) in workspace.storeEnvironment { env[key] = value }
        for (key, value) in environment { env[key] = value }
        self.workspace = workspace
        child = try ChildProcess(
            executable: executable, arguments: arguments, environment: env, directory: workspace.directory,
            outputPrefix: workspace.directory + "/" + name)
    }

    deinit { child.stop() }

    /// Everything the worker logged so far.
    public var log: String { child.stderr }

    /// Lines of the log containing `text`.
    public func logLines(containing text: String) -> [Substring] {
        log.split(separator: "\n").filter { $0.contains(text) }
    }

    /// Runs a one-shot subcommand (`enqueue`, …) to completion and returns its output.
    public static func runCommand(_ arguments: [String], workspace: Workspace, environment: [String: String] = [:])
        throws -> (status: Int32, stdout: String, stderr: String)
    {
        let process = try WorkerProcess(
            workspace: workspace, arguments: arguments, environment: environment,
            name: "cmd-\(UUID().uuidString.prefix(6))")
        let status = process.child.waitForExit(timeout: 60) ?? -1
        return (status, process.child.stdout, process.child.stderr)
    }
}
