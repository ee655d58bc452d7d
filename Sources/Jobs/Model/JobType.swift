/// The kinds of work the worker knows. Database words as in DESIGN.md.
public enum JobType: String, Sendable, CaseIterable {
    case imageGeneration = "image_generation"
    case backgroundRemoval = "background_removal"
    case styleAnalysis = "style_analysis"
    case animation
    case videoKeying = "video_keying"
    case videoStitching = "video_stitching"

    /// The status a claimed job of this type shows while it runs.
    public var runningStatus: JobStatus { self == .videoKeying ? .keyingProcessing : .processing }

    /// The provider used when params name none; nil where params must name one.
    public var defaultProvider: String? {
        switch self {
        case .backgroundRemoval: "bria"
        case .styleAnalysis: "openai"
        case .videoKeying, .videoStitching: "ffmpeg"
        case .imageGeneration, .animation: nil
        }
    }

    public static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
