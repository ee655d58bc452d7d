import Foundation
import TestSupport
import XCTest

/// Shared set-up for the media end-to-end tests: small clips made with ffmpeg's lavfi
/// sources, ffprobe and raw-frame readers for the outputs, and the worker's ffmpeg children
/// as `/proc` shows them.
class MediaEndToEndCase: ProviderEndToEndCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        for tool in ["/usr/bin/ffmpeg", "/usr/bin/ffprobe"] {
            try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is not installed")
        }
    }

    /// Runs a program to its end and returns its stdout; fails the test on a non-zero exit.
    @discardableResult
    func run(_ executable: String, _ arguments: [String], timeout: Double = 120) throws -> Data {
        let child = try ChildProcess(
            executable: executable, arguments: arguments,
            outputPrefix: workspace.directory + "/tool-\(UUID().uuidString.prefix(6))")
        let status = child.waitForExit(timeout: timeout)
        XCTAssertEqual(status, 0, "\(executable) \(arguments.joined(separator: " ")):\n\(child.stderr)")
        return FileManager.default.contents(atPath: child.stdoutPath) ?? Data()
    }

    /// A clip of a `box`-coloured square moving right over a green (#00FF00) background.
    /// With `tone`, it has a sine-wave audio track.
    func greenScreenClip(
        _ name: String, width: Int = 160, height: Int = 120, seconds: Double = 2, rate: Int = 25,
        box: String = "red", tone: Bool = false
    ) throws -> String {
        let path = workspace.directory + "/" + name
        var arguments = [
            "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
            "color=c=0x00FF00:s=\(width)x\(height):r=\(rate):d=\(seconds)", "-f", "lavfi", "-i",
            "color=c=\(box):s=\(width / 4)x\(height / 3):r=\(rate):d=\(seconds)",
        ]
        if tone { arguments += ["-f", "lavfi", "-i", "sine=frequency=440:duration=\(seconds)"] }
        arguments += [
            "-filter_complex", "[0][1]overlay=x='\(width / 16)+t*\(width / 8)':y=\(height / 3):shortest=1[v]",
            "-map", "[v]",
        ]
        if tone { arguments += ["-map", "2:a", "-c:a", "aac"] }
        arguments += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path]
        try run("/usr/bin/ffmpeg", arguments)
        return path
    }

    /// ffprobe's JSON about `path`'s streams and format.
    func probe(_ path: String) throws -> [String: Any] {
        let data = try run(
            "/usr/bin/ffprobe",
            [
                "-v", "error", "-show_entries",
                "stream=codec_type,codec_name,width,height,pix_fmt,duration,r_frame_rate:stream_tags=alpha_mode:"
                    + "format=duration",
                "-of", "json", path,
            ])
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func videoStream(_ path: String) throws -> [String: Any] {
        let streams = try probe(path)["streams"] as? [[String: Any]] ?? []
        return try XCTUnwrap(streams.first { $0["codec_type"] as? String == "video" }, "no video stream in \(path)")
    }

    /// Frame `index` of `path` as RGBA bytes (width × height × 4), decoded by `decoder` if given
    /// (ffmpeg's own VP9 decoder ignores the alpha plane; libvpx's reads it).
    func rgbaFrame(_ path: String, index: Int, decoder: String? = nil) throws -> [UInt8] {
        var arguments = ["-nostdin", "-v", "error"]
        if let decoder { arguments += ["-c:v", decoder] }
        arguments += [
            "-i", path, "-vf", "select=eq(n\\,\(index))", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgba", "-",
        ]
        return [UInt8](try run("/usr/bin/ffmpeg", arguments))
    }

    /// The pixel format the decoder produces for `path`'s first frame (from `showinfo`).
    func decodedPixelFormat(_ path: String, decoder: String) throws -> String? {
        let child = try ChildProcess(
            executable: "/usr/bin/ffmpeg",
            arguments: [
                "-nostdin", "-c:v", decoder, "-i", path, "-frames:v", "1", "-vf", "showinfo", "-f", "null", "-",
            ],
            outputPrefix: workspace.directory + "/showinfo")
        XCTAssertEqual(child.waitForExit(timeout: 30), 0, child.stderr)
        guard let range = child.stderr.range(of: #"fmt:[a-z0-9]+"#, options: .regularExpression) else { return nil }
        return String(child.stderr[range].dropFirst(4))
    }

    /// Live (not zombie) ffmpeg processes whose parent is `pid`, read from `/proc/*/stat`.
    static func ffmpegChildren(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let child = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { return nil }
            // "pid (comm) state ppid …": comm may hold spaces, so split after the last ')'.
            let comm = stat[stat.index(after: open)..<close]
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard comm == "ffmpeg", fields.count > 2, fields[0] != "Z", Int32(fields[1]) == pid else { return nil }
            return child
        }
    }

    /// True while process `pid` exists and is not a zombie.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// The environment of a worker that runs media jobs fast: quick polls, no API keys.
    func mediaEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ["FALLBACK_POLL_SECONDS": "0.5"]
        for (name, value) in extra { environment[name] = value }
        return environment
    }

    /// The progress of job `id` (0–1) as the row shows it.
    func progress(_ id: Int64) -> Double {
        workspace.rows("SELECT progress FROM jobs WHERE id = ?", [.integer(id)]).first?["progress"]?.double ?? 0
    }

    /// Files left in the job's folder.
    func folder(_ id: Int64) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: workspace.outputDirectory + "/\(id)")) ?? []).sorted()
    }
}
