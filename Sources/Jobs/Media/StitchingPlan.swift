import Foundation

/// The params of a `video_stitching` job. A plain value.
public struct StitchingOptions: Sendable, Equatable {
    public enum Transition: String, Sendable {
        case cut, crossfade
    }

    public var transition: Transition
    /// Length of each crossfade in seconds (ignored for cuts).
    public var transitionSeconds: Double
    /// Output size and frame rate; nil means the first input's.
    public var width: Int?
    public var height: Int?
    public var fps: Double?

    public static let defaultTransitionSeconds = 0.5

    public init(
        transition: Transition = .cut, transitionSeconds: Double = Self.defaultTransitionSeconds, width: Int? = nil,
        height: Int? = nil, fps: Double? = nil
    ) {
        self.transition = transition
        self.transitionSeconds = transitionSeconds
        self.width = width
        self.height = height
        self.fps = fps
    }

    /// Reads `transition`, `transition_seconds`, `width`, `height` and `fps`; errors name the key.
    public static func parse(_ params: JobParams) throws(JobFailure) -> StitchingOptions {
        var options = StitchingOptions()
        if let name = try params.string("transition") {
            guard let transition = Transition(rawValue: name.lowercased()) else {
                throw .permanent("params.transition must be cut or crossfade, got '\(name)'")
            }
            options.transition = transition
        }
        options.transitionSeconds =
            try params.double("transition_seconds", range: 0.04...30) ?? defaultTransitionSeconds
        options.width = try params.int("width", range: 16...8192)
        options.height = try params.int("height", range: 16...8192)
        if (options.width == nil) != (options.height == nil) {
            throw .permanent(
                "params.width and params.height must be given together (or neither, for the first input's size)")
        }
        options.fps = try params.double("fps", range: 1...240)
        return options
    }
}

/// How a list of probed inputs becomes one video: every input scaled (keeping its aspect
/// ratio) and padded to the output size, set to the output frame rate, and joined by cuts
/// (`concat`) or crossfades (`xfade` and `acrossfade`). If any input has audio the output
/// has a stereo track, with silence for the inputs that have none. A plain value; pure.
public struct StitchingPlan: Sendable, Equatable {
    public let options: StitchingOptions
    public let inputs: [MediaInfo]
    public let width: Int
    public let height: Int
    /// The output frame rate as ffmpeg reads it ("25/1", "29.97").
    public let frameRate: String
    public let hasAudio: Bool
    /// Each input's length once set to the output frame rate: whole frames, as `fps` makes them.
    public let segmentDurations: [Double]

    /// Plans the output; fails when a crossfade is longer than an input can give.
    public init(options: StitchingOptions, inputs: [MediaInfo]) throws(JobFailure) {
        guard let first = inputs.first, inputs.count >= 2 else {
            throw .permanent("params.inputs must list at least 2 videos to stitch, got \(inputs.count)")
        }
        self.options = options
        self.inputs = inputs
        // H.264 in 4:2:0 needs even sizes: an odd first input gives the even size just below.
        width = (options.width ?? first.width) & ~1
        height = (options.height ?? first.height) & ~1
        frameRate = options.fps.map { KeyingOptions.number($0) } ?? first.frameRate
        hasAudio = inputs.contains(where: \.hasAudio)
        let rate = MediaInfo.framesPerSecond(frameRate)
        segmentDurations = inputs.map { max(($0.duration * rate).rounded(), 1) / rate }
        if options.transition == .crossfade {
            let fade = options.transitionSeconds
            for (index, length) in segmentDurations.enumerated() {
                // A middle clip fades in and out, so it must hold two transitions.
                let needed = index == 0 || index == inputs.count - 1 ? fade : 2 * fade
                if length < needed {
                    throw .permanent(
                        "params.transition_seconds (\(KeyingOptions.number(fade)) s) is too long for inputs[\(index)], which lasts \(KeyingOptions.number(length)) s; each clip must last at least the transition, and clips in the middle twice it"
                    )
                }
            }
        }
    }

    /// The output's length in seconds: the inputs' sum, less one transition per crossfade.
    public var duration: Double {
        let total = segmentDurations.reduce(0, +)
        return options.transition == .crossfade ? total - Double(inputs.count - 1) * options.transitionSeconds : total
    }

    /// The whole `-filter_complex` graph, ending in `[v]` (and `[a]` with audio).
    public var filterGraph: String {
        var parts: [String] = []
        let crossfading = options.transition == .crossfade
        for (index, input) in inputs.enumerated() {
            // xfade in ffmpeg 5.1 leaves a one-frame gap when its first input ends exactly as
            // the fade does; two cloned frames past the end (dropped by xfade) avoid that.
            let hold = crossfading && index < inputs.count - 1 ? ",tpad=stop_mode=clone:stop=2" : ""
            parts.append(
                "[\(index):v]setpts=PTS-STARTPTS,scale=\(width):\(height):force_original_aspect_ratio=decrease,"
                    + "pad=\(width):\(height):(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps=\(frameRate),"
                    + "format=yuv420p\(hold)[v\(index)]")
            guard hasAudio else { continue }
            let length = KeyingOptions.number(segmentDurations[index])
            if input.hasAudio {
                // Padded or cut to the video's length, so later clips stay in sync.
                parts.append(
                    "[\(index):a]asetpts=PTS-STARTPTS,aresample=48000,"
                        + "aformat=sample_fmts=fltp:channel_layouts=stereo,apad,atrim=duration=\(length)[a\(index)]")
            } else {
                parts.append(
                    "anullsrc=channel_layout=stereo:sample_rate=48000,aformat=sample_fmts=fltp,atrim=duration=\(length)[a\(index)]"
                )
            }
        }
        switch options.transition {
        case .cut:
            let labels = inputs.indices.map { hasAudio ? "[v\($0)][a\($0)]" : "[v\($0)]" }.joined()
            parts.append("\(labels)concat=n=\(inputs.count):v=1:a=\(hasAudio ? 1 : 0)[v]" + (hasAudio ? "[a]" : ""))
        case .crossfade:
            parts += crossfades(stream: "v") { "xfade=transition=fade:duration=\($0):offset=\($1)" }
            if hasAudio { parts += crossfades(stream: "a") { fade, _ in "acrossfade=d=\(fade)" } }
        }
        return parts.joined(separator: ";")
    }

    /// A chain joining `[<stream>0]…[<stream>n-1]` pairwise into `[<stream>]`; `filter` gets
    /// the fade length and the offset in the joined output where the fade starts.
    private func crossfades(stream: String, filter: (String, String) -> String) -> [String] {
        let fade = options.transitionSeconds
        var previous = "\(stream)0"
        var elapsed = 0.0
        var chain: [String] = []
        for index in 1..<inputs.count {
            elapsed += segmentDurations[index - 1] - fade
            let label = index == inputs.count - 1 ? stream : "\(stream)x\(index)"
            let text = filter(KeyingOptions.number(fade), KeyingOptions.number(elapsed))
            chain.append("[\(previous)][\(stream)\(index)]\(text)[\(label)]")
            previous = label
        }
        return chain
    }

    /// ffmpeg's arguments: stitch `paths` (in order) into `output` as H.264/AAC in MP4.
    public func arguments(paths: [String], output: String) -> [String] {
        var arguments = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-y"]
        for path in paths { arguments += ["-i", path] }
        arguments += ["-filter_complex", filterGraph, "-map", "[v]"]
        if hasAudio { arguments += ["-map", "[a]", "-c:a", "aac", "-b:a", "160k"] }
        arguments += [
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
            "-f", "mp4", "-progress", "pipe:1", output,
        ]
        return arguments
    }

    /// The output file's name in the job folder.
    public static let outputName = "stitched.mp4"
}
