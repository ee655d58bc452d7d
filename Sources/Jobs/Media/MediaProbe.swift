import Foundation
import JSON

/// What ffprobe tells about one input video: enough to plan a keying or stitching command
/// and to turn ffmpeg's output time into progress. A plain value.
public struct MediaInfo: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// The frame rate as ffprobe writes it ("30000/1001"); ffmpeg's filters take it as is.
    public var frameRate: String
    /// Seconds (the video stream's, else the container's).
    public var duration: Double
    public var hasAudio: Bool
    public var pixelFormat: String

    public init(
        width: Int, height: Int, frameRate: String, duration: Double, hasAudio: Bool, pixelFormat: String = "yuv420p"
    ) {
        self.width = width
        self.height = height
        self.frameRate = frameRate
        self.duration = duration
        self.hasAudio = hasAudio
        self.pixelFormat = pixelFormat
    }

    /// Frames per second as a number (25 when unreadable).
    public var framesPerSecond: Double { Self.framesPerSecond(frameRate) }

    /// A rate written as ffmpeg does ("30000/1001", "25") as a number; 25 when unreadable.
    public static func framesPerSecond(_ frameRate: String) -> Double {
        let parts = frameRate.split(separator: "/").compactMap { Double($0) }
        if parts.count == 2, parts[1] > 0, parts[0] > 0 { return parts[0] / parts[1] }
        if parts.count == 1, parts[0] > 0 { return parts[0] }
        return 25
    }
}

/// Runs ffprobe on an input and reads its JSON answer into a `MediaInfo`, or a failure that
/// says, in the words of the param the user wrote, why the file cannot be used.
public enum MediaProbe {
    /// ffprobe's arguments for `path` (absolute, so it cannot be read as an option).
    public static func arguments(for path: String) -> [String] {
        [
            "-v", "error", "-show_entries",
            "stream=codec_type,width,height,r_frame_rate,avg_frame_rate,duration,pix_fmt:"
                + "stream_disposition=attached_pic:format=duration,format_name",
            "-of", "json", path,
        ]
    }

    /// Probes `path` on the calling pool thread. `key` names the param in errors ("input", "inputs[1]").
    public static func probe(
        _ path: String, key: String, tools: MediaTools, stop: StopRequest
    ) throws(JobFailure) -> MediaInfo {
        var output = ""
        let ending = try tools.process(tools.ffprobe, arguments(for: path)).run(stop: stop) { output += $0 + "\n" }
        guard ending.succeeded else {
            if ending.wasStopped { throw .permanent("ffprobe was stopped") }
            let detail = ending.stderrTail.isEmpty ? "ffprobe \(ending.summary)" : ending.stderrTail
            throw .permanent("params.\(key): \(path) is not a video ffprobe can read: \(detail)")
        }
        return try info(fromJSON: output, path: path, key: key)
    }

    /// Reads ffprobe's JSON; fails for files with no video, still images and unknown durations.
    public static func info(fromJSON text: String, path: String, key: String) throws(JobFailure) -> MediaInfo {
        guard let json = try? JSONValue.parse(text) else {
            throw .permanent("params.\(key): ffprobe gave no readable answer for \(path)")
        }
        let streams = json["streams"]?.arrayValue ?? []
        let videos = streams.filter {
            $0["codec_type"]?.stringValue == "video" && $0["disposition"]?["attached_pic"]?.intValue != 1
        }
        guard let video = videos.first, let width = video["width"]?.intValue, let height = video["height"]?.intValue,
            width > 0, height > 0
        else {
            throw .permanent("params.\(key): \(path) has no video stream; give a video file (mp4, webm, mov, …)")
        }
        let formatName = json["format"]?["format_name"]?.stringValue ?? ""
        if formatName.hasSuffix("_pipe") || formatName.hasPrefix("image2") {
            throw .permanent("params.\(key): \(path) is a still image (\(formatName)), not a video")
        }
        let duration = seconds(video["duration"]) ?? seconds(json["format"]?["duration"])
        guard let duration, duration > 0 else {
            throw .permanent("params.\(key): \(path) has no known duration; is it a complete video file?")
        }
        var frameRate = video["r_frame_rate"]?.stringValue ?? "0/0"
        if frameRate.hasPrefix("0/") || frameRate.hasSuffix("/0") {
            frameRate = video["avg_frame_rate"]?.stringValue ?? "25/1"
        }
        if frameRate.hasPrefix("0/") || frameRate.hasSuffix("/0") { frameRate = "25/1" }
        return MediaInfo(
            width: width, height: height, frameRate: frameRate, duration: duration,
            hasAudio: streams.contains { $0["codec_type"]?.stringValue == "audio" },
            pixelFormat: video["pix_fmt"]?.stringValue ?? "unknown")
    }

    private static func seconds(_ value: JSONValue?) -> Double? {
        if let text = value?.stringValue { return Double(text) }
        return value?.doubleValue
    }
}
