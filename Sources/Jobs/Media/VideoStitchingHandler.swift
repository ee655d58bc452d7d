import Foundation
import JSON

/// `video_stitching`: joins two or more videos into `OUTPUT_DIR/<job id>/stitched.mp4`
/// (H.264, AAC), by cuts or crossfades, at the first input's size and frame rate unless the
/// params say otherwise (see `StitchingPlan`).
///
/// On the loop: read the params, find ffmpeg, fetch the inputs. On a `MediaPool` thread:
/// ffprobe each input, plan, then ffmpeg, whose progress comes back to the loop. Loop thread
/// only (`run`).
public struct VideoStitchingHandler: JobHandler {
    private let runtime: MediaRuntime

    public init(runtime: MediaRuntime) {
        self.runtime = runtime
    }

    public func run(_ context: JobContext, finish: @escaping (JobOutcome) -> Void) {
        let options: StitchingOptions
        let inputs: [JSONValue]
        do throws(JobFailure) {
            options = try StitchingOptions.parse(context.params)
            guard let values = try context.params.array("inputs"), values.count >= 2 else {
                throw .permanent(
                    "params.inputs is required for video_stitching: a list of at least 2 videos (paths, URLs or {\"job\": ID})"
                )
            }
            inputs = values
        } catch {
            finish(.failed(error))
            return
        }
        runtime.prepare(inputs, key: "inputs", indexed: true, context: context, finish: finish) {
            tools, pool, fetched in
            MediaJobRun.start(
                context: context, pool: pool, tools: tools, scratch: fetched.downloads,
                work: { media throws(JobFailure) in
                    try Self.stitch(fetched.paths, options: options, media: media)
                }, finish: finish)
        }
    }

    /// Probes, plans and stitches `paths` on the pool thread; returns the job's result object.
    static func stitch(_ paths: [String], options: StitchingOptions, media: MediaWork) throws(JobFailure)
        -> JSONValue
    {
        var infos: [MediaInfo] = []
        for (index, path) in paths.enumerated() { infos.append(try media.probe(path, key: "inputs[\(index)]")) }
        let plan = try StitchingPlan(options: options, inputs: infos)
        let started = MediaProcess.monotonicSeconds()
        let name = StitchingPlan.outputName
        let file = try media.encode(
            plan.arguments(paths: paths, output: media.outputs.temporaryPath(name)), duration: plan.duration, as: name)
        return [
            "files": [.string(file)],
            "width": .number(Double(plan.width)),
            "height": .number(Double(plan.height)),
            "frame_rate": .string(plan.frameRate),
            "duration": .number((plan.duration * 1000).rounded() / 1000),
            "transition": .string(options.transition.rawValue),
            "has_audio": .bool(plan.hasAudio),
            "inputs": .number(Double(paths.count)),
            "ffmpeg_seconds": .number(((MediaProcess.monotonicSeconds() - started) * 1000).rounded() / 1000),
        ]
    }
}
