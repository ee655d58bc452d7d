import Foundation

/// A regular file beneath OUTPUT_DIR, opened for `/files/`, or the reason it is refused.
///
/// The checks, in order: each URL segment decodes to a plain name (no `/`, `\`, NUL, `.` or
/// `..`, no hidden name such as a worker's `.tmp`); `realpath` of the joined path lies beneath
/// `realpath(OUTPUT_DIR)`, so no symlink leads out; the resolved path is opened with
/// `O_NOFOLLOW` (a link swapped in afterwards is not followed) and `fstat` says it is a regular
/// file. Reads use `pread` on that descriptor, so what is served is what was checked.
final class ServedFile: Sendable {
    enum Refusal: Error, Equatable {
        /// The URL tries to leave its folder (`..`, an encoded slash, a hidden name).
        case badName(String)
        case notFound
        /// A symlink (or a path) that resolves outside OUTPUT_DIR.
        case outside
        /// A folder, a device, a pipe.
        case notRegular
    }

    let descriptor: Int32
    let size: Int
    let modified: Date
    let name: String

    private init(descriptor: Int32, size: Int, modified: Date, name: String) {
        self.descriptor = descriptor
        self.size = size
        self.modified = modified
        self.name = name
    }

    deinit { close(descriptor) }

    /// Opens `root/<segments>` after the checks above. `segments` are the raw URL segments.
    static func open(root: String, rawSegments: [Substring]) -> Result<ServedFile, Refusal> {
        guard rawSegments.count == 2 else { return .failure(.badName("a file URL is /files/FOLDER/NAME")) }
        var names: [String] = []
        for raw in rawSegments {
            guard let name = FileURL.decode(raw), isPlainName(name) else {
                return .failure(.badName("'\(raw)' is not a plain file or folder name"))
            }
            names.append(name)
        }
        guard let realRoot = realPath(root) else { return .failure(.notFound) }
        let joined = root + "/" + names.joined(separator: "/")
        guard let resolved = realPath(joined) else { return .failure(.notFound) }
        guard resolved.hasPrefix(realRoot + "/") else { return .failure(.outside) }
        let descriptor = Foundation.open(resolved, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure(errno == ELOOP ? .outside : .notFound) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            return .failure(.notRegular)
        }
        let modified = Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec))
        return .success(ServedFile(descriptor: descriptor, size: Int(info.st_size), modified: modified, name: names[1]))
    }

    /// Up to `count` bytes from `offset`; fewer only at the end of the file.
    func read(offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + filled, count - filled, off_t(offset + filled))
            }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else {
                throw APIError(.internalServerError, "cannot read \(name): \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            filled += got
        }
        bytes.removeSubrange(filled...)
        return bytes
    }

    /// A name that stays in its folder: not empty, no separators or NUL, not `.`/`..`, not hidden.
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && !name.contains("/") && !name.contains("\\") && !name.contains("\0")
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
