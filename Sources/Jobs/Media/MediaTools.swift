import Foundation

/// Where ffmpeg and ffprobe are, and the environment their children get.
///
/// `FFMPEG_PATH` and `FFPROBE_PATH` (settings) name the programs outright; otherwise they are
/// looked up on the worker's `PATH`. A plain value, found on the loop thread and used on pool
/// threads.
public struct MediaTools: Sendable, Equatable {
    public var ffmpeg: String
    public var ffprobe: String
    /// The children's whole environment: `PATH` and the C locale (so numbers print with a
    /// dot). The worker's provider keys are never passed on.
    public var environment: [String: String]
    /// `setpriv` when present, to give each child a parent-death signal (`MediaChildren`).
    public var launcher: String?

    public init(ffmpeg: String, ffprobe: String, environment: [String: String], launcher: String? = nil) {
        self.ffmpeg = ffmpeg
        self.ffprobe = ffprobe
        self.environment = environment
        self.launcher = launcher
    }

    /// Finds both programs, or fails naming the Debian package to install.
    public static func locate(settings: WorkerSettings) throws(JobFailure) -> MediaTools {
        let path = settings.values["PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/local/bin:/usr/bin:/bin"
        let ffmpeg = try find("ffmpeg", override: settings.values["FFMPEG_PATH"], path: path)
        let ffprobe = try find("ffprobe", override: settings.values["FFPROBE_PATH"], path: path)
        return MediaTools(
            ffmpeg: ffmpeg, ffprobe: ffprobe, environment: ["PATH": path, "LC_ALL": "C"],
            launcher: MediaChildren.deathSignalLauncher(path: path))
    }

    /// A child running `executable` (this struct's ffmpeg or ffprobe) with `arguments`.
    public func process(_ executable: String, _ arguments: [String]) -> MediaProcess {
        MediaProcess(executable: executable, arguments: arguments, environment: environment, launcher: launcher)
    }

    static func find(_ name: String, override: String?, path: String) throws(JobFailure) -> String {
        let variable = name.uppercased() + "_PATH"
        if let override, !override.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: override) else {
                throw .permanent(
                    "\(variable) is \(override), which is not an executable file; fix \(variable) or unset it to use \(name) from PATH"
                )
            }
            return override
        }
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw .permanent(
            "\(name) is not installed: it is not on PATH (\(path)); install Debian's ffmpeg package (apt-get install ffmpeg, which also brings ffprobe) or set \(variable)"
        )
    }
}
