import Foundation
import JSON

/// `video_keying`: makes the key colour of a video transparent and writes a video with a real
/// alpha channel to `OUTPUT_DIR/<job id>/keyed.webm` (VP9, `yuva420p`) or `keyed.mov`
/// (ProRes 4444, `yuva444p10le`).
///
/// On the loop: read the params, find ffmpeg, fetch the input. On a `MediaPool` thread:
/// ffprobe for the duration, then ffmpeg, whose progress comes back to the loop. Loop thread
/// only (`run`).
public struct VideoKeyingHandler: JobHandler {
    private let runtime: MediaRuntime

    public init(runtime: MediaRuntime) {
        self.runtime = runtime
    }

    public func run(_ context: JobContext, finish: @escaping (JobOutcome) -> Void) {
        let options: KeyingOptions
        let input: JSONValue
        do throws(JobFailure) {
            options = try KeyingOptions.parse(context.params)
            guard let value = context.params["input"] else {
                throw .permanent("params.input is required for video_keying: a video path, a URL or {\"job\": ID}")
            }
            input = value
        } catch {
            finish(.failed(error))
            return
        }
        runtime.prepare([input], key: "input", indexed: false, context: context, finish: finish) {
            tools, pool, fetched in
            MediaJobRun.start(
                context: context, pool: pool, tools: tools, scratch: fetched.downloads,
                work: { media throws(JobFailure) in
                    try Self.key(fetched.paths[0], options: options, media: media)
                }, finish: finish)
        }
    }

    /// Probes and keys `path` on the pool thread; returns the job's result object.
    static func key(_ path: String, options: KeyingOptions, media: MediaWork) throws(JobFailure) -> JSONValue {
        let info = try media.probe(path, key: "input")
        let started = MediaProcess.monotonicSeconds()
        let temporary = media.outputs.temporaryPath(options.outputName)
        let file = try media.encode(
            options.arguments(input: path, output: temporary), duration: info.duration, as: options.outputName)
        return [
            "files": [.string(file)],
            "format": .string(options.format.rawValue),
            "codec": .string(options.format == .webm ? "vp9" : "prores_4444"),
            "pixel_format": .string(options.pixelFormat),
            "width": .number(Double(info.width)),
            "height": .number(Double(info.height)),
            "duration": .number(info.duration),
            "key_color": .string("#" + options.keyColor.dropFirst(2)),
            "ffmpeg_seconds": .number(((MediaProcess.monotonicSeconds() - started) * 1000).rounded() / 1000),
        ]
    }
}
