/// The kinds of work the worker knows, and the rules that depend on the kind. Database words as in
/// DESIGN.md; the stores build their SQL from these rules (`StoreSQL`), so Swift and SQL never
/// disagree about them.
public enum JobType: String, Sendable, CaseIterable {
    case imageGeneration = "image_generation"
    case backgroundRemoval = "background_removal"
    case styleAnalysis = "style_analysis"
    case animation
    case videoKeying = "video_keying"
    case videoStitching = "video_stitching"

    /// The status a claimed job of this type shows while it runs.
    public var runningStatus: JobStatus { self == .videoKeying ? .keyingProcessing : .processing }

    /// Keying jobs are claimed before every other queued job (DESIGN.md "Job types").
    public var isClaimedFirst: Bool { self == .videoKeying }

    /// Work done on this machine (ffmpeg), which pays no provider: an interrupted run of it spends
    /// no attempt.
    public var isMedia: Bool { self == .videoKeying || self == .videoStitching }

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

    /// The types claimed before the others.
    public static var claimedFirst: [JobType] { allCases.filter(\.isClaimedFirst) }
}
