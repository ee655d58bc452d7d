import Foundation
import Reactor
import Synchronization

/// The output folder of one job, `OUTPUT_DIR/<job id>/`, and the temporary-name-then-rename
/// discipline that keeps partial files from ever appearing under a final name.
public struct JobOutputs: Sendable {
    public let directory: String

    public init(root: String, jobID: Int64) {
        directory = Self.absolute(root) + "/\(jobID)"
    }

    /// Absolute roots standardized once, not per job: `URL.standardizedFileURL` walks Foundation's
    /// URL machinery on the loop. Relative roots depend on the working directory, so they are
    /// not remembered.
    private static let standardizedRoots = Mutex<[String: String]>([:])

    private static func absolute(_ root: String) -> String {
        let isAbsolute = root.hasPrefix("/")
        if isAbsolute, let known = standardizedRoots.withLock({ $0[root] }) { return known }
        let path = URL(fileURLWithPath: root).standardizedFileURL.path
        if isAbsolute { standardizedRoots.withLock { $0[root] = path } }
        return path
    }

    /// Creates the folder if needed. One mkdir(2) when OUTPUT_DIR exists, as it does for every
    /// job after the first; FileManager, which also makes missing parents, only when it does not.
    public func prepare() throws(JobFailure) {
        if mkdir(directory, 0o777) == 0 || errno == EEXIST { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .transient("cannot create output folder \(directory): \(error.localizedDescription)")
        }
    }

    /// The final path of `name` in this job's folder.
    public func path(_ name: String) -> String { directory + "/" + name }

    /// A temporary name beside `name`, hidden and unique to this process, so a crash leaves
    /// at worst a stray `.tmp` file and never a half-written file under the final name.
    public func temporaryPath(_ name: String) -> String {
        directory + "/.\(name).\(getpid()).tmp"
    }

    /// Moves a finished temporary file to its final name (atomic on one filesystem).
    private func commit(temporary: String, as name: String) throws(JobFailure) -> String {
        let final = path(name)
        guard rename(temporary, final) == 0 else {
            let reason = SystemErrorText.of()
            unlink(temporary)
            throw .transient("cannot move output into place at \(final): \(reason)")
        }
        return final
    }

    /// Moves a temporary that another writer finished (curl's download, ffmpeg's output) to
    /// its final name once its bytes are on the disk, as `write` does for its own files: neither
    /// flushes, and a job marked completed must not point at a file a power cut leaves empty.
    public func commitDurably(temporary: String, as name: String) throws(JobFailure) -> String {
        // O_NONBLOCK: opening a FIFO left at this name must fail the flush, not hang the thread.
        let descriptor = open(temporary, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .transient("cannot open \(temporary) to flush it to disk: \(SystemErrorText.of())")
        }
        let flushed = fsync(descriptor) == 0
        let reason = flushed ? "" : SystemErrorText.of()
        close(descriptor)
        guard flushed else {
            unlink(temporary)
            throw .transient("cannot flush \(temporary) to disk: \(reason)")
        }
        return try commit(temporary: temporary, as: name)
    }

    /// Writes `data` to `name` through a temporary file, flushed to the disk before the rename,
    /// and returns the final path. The flush is ours, not left to how Foundation's `Data.write`
    /// happens to be built: a job marked completed must not point at a file a power cut empties.
    public func write(_ data: Data, as name: String) throws(JobFailure) -> String {
        try prepare()
        let temporary = temporaryPath(name)
        // O_NONBLOCK: a FIFO left at this name fails the open instead of hanging the thread.
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            throw .transient("cannot write \(temporary): \(SystemErrorText.of())")
        }
        var failure = data.withUnsafeBytes { DescriptorWrite.all($0, to: descriptor) }
        if failure == nil, fsync(descriptor) != 0 { failure = errno }
        close(descriptor)
        if let failure {
            unlink(temporary)
            throw .transient("cannot write \(temporary): \(SystemErrorText.of(failure))")
        }
        return try commit(temporary: temporary, as: name)
    }

    /// Removes temporary files that an earlier, killed worker process left. This process's own
    /// temporaries (downloads in progress) are left alone: they carry its pid. Runs once per job,
    /// almost always on a folder that does not exist yet, so that case is one failed opendir(3).
    public func removeStaleTemporaries() {
        guard let folder = opendir(directory) else { return }
        defer { closedir(folder) }
        let mine = ".\(getpid()).tmp"
        var stale: [String] = []
        while let entry = readdir(folder) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix("."), name.hasSuffix(".tmp"), !name.hasSuffix(mine) { stale.append(name) }
        }
        for name in stale { unlink(directory + "/" + name) }
    }
}

/// Picks a file extension from the first bytes of an image or video.
public enum MediaSniffer {
    public static func fileExtension(for data: Data, default fallback: String) -> String {
        let bytes = [UInt8](data.prefix(12))
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "jpg" }
        if bytes.count >= 12, bytes[0...3] == [0x52, 0x49, 0x46, 0x46], bytes[8...11] == [0x57, 0x45, 0x42, 0x50] {
            return "webp"
        }
        if bytes.count >= 8, bytes[4...7] == [0x66, 0x74, 0x79, 0x70] { return "mp4" }
        if bytes.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return "webm" }
        return fallback
    }
}
