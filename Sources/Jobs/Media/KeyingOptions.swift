import Foundation

/// The params of a `video_keying` job and the ffmpeg command they make. A plain value; pure.
///
/// Keying uses ffmpeg's `chromakey` filter, which compares colours in YUV: it keys by hue
/// rather than brightness, so shadows on a green screen are keyed out too. `despill` then
/// removes the green (or blue) cast the screen throws onto the subject's edges.
public struct KeyingOptions: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        /// VP9 in WebM, alpha as `yuva420p` (what browsers play with transparency).
        case webm
        /// ProRes 4444 in QuickTime, alpha as `yuva444p10le` (what editors import).
        case mov
    }

    /// The key colour as ffmpeg writes it: `0xRRGGBB`.
    public var keyColor: String
    /// How close to the key colour a pixel must be to become transparent (0.01–1).
    public var similarity: Double
    /// How far beyond that the edge fades from transparent to opaque (0–1).
    public var blend: Double
    public var despill: Bool
    public var format: Format

    public static let defaultSimilarity = 0.1
    public static let defaultBlend = 0.05

    public init(
        keyColor: String = "0x00FF00", similarity: Double = Self.defaultSimilarity, blend: Double = Self.defaultBlend,
        despill: Bool = true, format: Format = .webm
    ) {
        self.keyColor = keyColor
        self.similarity = similarity
        self.blend = blend
        self.despill = despill
        self.format = format
    }

    /// Reads `key_color`, `similarity`, `blend`, `despill` and `format`; errors name the key.
    public static func parse(_ params: JobParams) throws(JobFailure) -> KeyingOptions {
        var options = KeyingOptions()
        if let color = try params.string("key_color") { options.keyColor = try hexColor(color, key: "key_color") }
        options.similarity = try params.double("similarity", range: 0.01...1) ?? defaultSimilarity
        options.blend = try params.double("blend", range: 0...1) ?? defaultBlend
        options.despill = try params.bool("despill") ?? true
        if let name = try params.string("format") {
            guard let format = Format(rawValue: name.lowercased()) else {
                throw .permanent("params.format must be webm or mov, got '\(name)'")
            }
            options.format = format
        }
        return options
    }

    /// `#00FF00`, `00ff00`, `0x00FF00` or `#0F0` as `0x00FF00`.
    static func hexColor(_ text: String, key: String) throws(JobFailure) -> String {
        var digits = text.trimmingCharacters(in: .whitespaces)
        if digits.hasPrefix("#") {
            digits.removeFirst()
        } else if digits.lowercased().hasPrefix("0x") {
            digits.removeFirst(2)
        }
        if digits.count == 3 { digits = digits.map { "\($0)\($0)" }.joined() }
        guard digits.count == 6, digits.allSatisfy(\.isHexDigit) else {
            throw .permanent("params.\(key) must be a hex colour such as #00FF00, got '\(text)'")
        }
        return "0x" + digits.uppercased()
    }

    /// The screen colour `despill` knows for this key (green or blue), or nil for other keys.
    var spillType: String? {
        let value = Int(keyColor.dropFirst(2), radix: 16) ?? 0
        let (red, green, blue) = ((value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF)
        if green > red, green > blue { return "green" }
        if blue > red, blue > green { return "blue" }
        return nil
    }

    /// The output file's name in the job folder.
    public var outputName: String { "keyed.\(format.rawValue)" }

    /// The pixel format with alpha that the output carries.
    public var pixelFormat: String { format == .webm ? "yuva420p" : "yuva444p10le" }

    /// The filter graph from input 0 to the `[keyed]` output.
    public var filterGraph: String {
        var chain = ["chromakey=color=\(keyColor):similarity=\(Self.number(similarity)):blend=\(Self.number(blend))"]
        if despill, let spillType { chain.append("despill=type=\(spillType)") }
        chain.append("format=\(pixelFormat)")
        return "[0:v]" + chain.joined(separator: ",") + "[keyed]"
    }

    /// ffmpeg's arguments: key `input`, write `output` (a temporary name, so the muxer is named
    /// with `-f`), keep audio if there is any, and report progress on stdout.
    public func arguments(input: String, output: String) -> [String] {
        var arguments = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-y", "-i", input]
        arguments += ["-filter_complex", filterGraph, "-map", "[keyed]", "-map", "0:a?"]
        switch format {
        case .webm:
            // Constant quality (crf with b:v 0); "good" with cpu-used 4 and row threads is
            // libvpx's usual speed/quality middle ground.
            arguments += [
                "-c:v", "libvpx-vp9", "-pix_fmt", pixelFormat, "-b:v", "0", "-crf", "30", "-deadline", "good",
                "-cpu-used", "4", "-row-mt", "1", "-c:a", "libopus", "-b:a", "128k", "-f", "webm",
            ]
        case .mov:
            arguments += [
                "-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", pixelFormat, "-c:a", "pcm_s16le", "-f", "mov",
            ]
        }
        return arguments + ["-progress", "pipe:1", output]
    }

    static func number(_ value: Double) -> String {
        String(format: "%.4f", value).replacingOccurrences(of: #"\.?0+$"#, with: "", options: .regularExpression)
    }
}
