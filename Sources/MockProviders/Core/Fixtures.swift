import Foundation
import Hummingbird

/// The bytes behind every download URL the mock hands out, built once at start-up.
///
/// Every image URL and every `b64_json` carries the same PNG; every video URL serves the same MP4. Tests compare
/// downloads against `GET /_mock/fixtures/image.png` and `/video.mp4`.
struct Fixtures: Sendable {
    /// A 64×64 PNG with six colour bands, so palette analysis of it has something to find.
    let png: ByteBuffer
    /// `png` in base64, for `b64_json` answers.
    let pngBase64: String
    let video: ByteBuffer
    /// Where the video bytes came from: "file", "ffmpeg" or "placeholder".
    let videoSource: String

    /// The six band colours of the PNG, left to right.
    static let bandColours: [(UInt8, UInt8, UInt8)] = [
        (0xE6, 0x39, 0x46), (0xF4, 0xA2, 0x61), (0xE9, 0xC4, 0x6A),
        (0x2A, 0x9D, 0x8F), (0x26, 0x46, 0x53), (0x8E, 0x7D, 0xBE),
    ]

    /// Builds the fixtures; reads `videoPath` when given, else tries ffmpeg, else uses placeholder bytes.
    /// Runs before the server starts, so blocking on ffmpeg here delays only start-up.
    static func load(videoPath: String?) throws -> Fixtures {
        let pngBytes = makePNG()
        let (videoBytes, source): ([UInt8], String)
        if let videoPath {
            guard let data = FileManager.default.contents(atPath: videoPath) else {
                throw FixtureError(message: "--video-fixture \(videoPath) cannot be read; give a readable MP4 file")
            }
            (videoBytes, source) = ([UInt8](data), "file")
        } else if let generated = generateVideoWithFFmpeg() {
            (videoBytes, source) = (generated, "ffmpeg")
        } else {
            (videoBytes, source) = (placeholderVideo, "placeholder")
        }
        return Fixtures(
            png: ByteBuffer(bytes: pngBytes),
            pngBase64: Data(pngBytes).base64EncodedString(),
            video: ByteBuffer(bytes: videoBytes),
            videoSource: source
        )
    }

    /// Six vertical bands with a gentle vertical shading, deterministic to the byte.
    static func makePNG() -> [UInt8] {
        PNGEncoder.encode(width: 64, height: 64) { x, y in
            let band = bandColours[min(x * bandColours.count / 64, bandColours.count - 1)]
            // Darken towards the bottom by up to 1/8 so the image is not flat colour.
            func shade(_ channel: UInt8) -> UInt8 { UInt8(Int(channel) - Int(channel) * y / 512) }
            return (shade(band.0), shade(band.1), shade(band.2))
        }
    }

    /// A 1 s 160×120 test pattern from ffmpeg's `testsrc`, or nil when ffmpeg is missing or fails.
    private static func generateVideoWithFFmpeg() -> [UInt8]? {
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent(
                "mock-providers-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).mp4")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
            "testsrc=size=160x120:rate=10", "-t", "1", "-pix_fmt", "yuv420p", output.path,
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return nil
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0, let data = FileManager.default.contents(atPath: output.path),
            !data.isEmpty
        else { return nil }
        return [UInt8](data)
    }

    /// An `ftyp` box and an empty `free` box: recognisably MP4-shaped, but not playable.
    static let placeholderVideo: [UInt8] = [
        0x00, 0x00, 0x00, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6F, 0x6D, 0x00, 0x00, 0x02, 0x00,
        0x69, 0x73, 0x6F, 0x6D, 0x6D, 0x70, 0x34, 0x31, 0x00, 0x00, 0x00, 0x08, 0x66, 0x72, 0x65, 0x65,
    ]
}

/// A fixture that cannot be loaded; the message names the flag and what to do.
struct FixtureError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
