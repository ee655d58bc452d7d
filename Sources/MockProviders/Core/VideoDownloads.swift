import Hummingbird

/// The bytes a video download URL serves: the MP4 fixture as it is, or, when the mock was told to
/// (`--tag-videos`, `--video-bytes`), the fixture followed by one top-level `free` box (ISO BMFF
/// lets a file carry such boxes anywhere, and players skip them) that names the task the video
/// belongs to and pads the file to the size asked for. Tests then see that each job downloaded
/// its own task's video, and benches get videos of a realistic size, sent at a chosen rate per
/// connection (`--video-rate`) as a CDN serving one file would.
struct VideoDownloads: Sendable {
    let fixture: ByteBuffer
    /// Write the task's name into each video.
    let tagged: Bool
    /// The size of each video in bytes; 0 serves the fixture's own size.
    let size: Int
    /// Bytes per second each download is sent at; 0 sends as fast as the client reads.
    let bytesPerSecond: Int
    /// The padded video when it is the same for every task: built once, so 200 downloads of 20 MB
    /// share one buffer instead of the mock allocating 4 GB.
    private let shared: ByteBuffer?

    init(fixture: ByteBuffer, tagged: Bool, size: Int, bytesPerSecond: Int = 0) {
        self.fixture = fixture
        self.tagged = tagged
        self.size = size
        self.bytesPerSecond = bytesPerSecond
        shared = tagged ? nil : size > 0 ? Self.padded(fixture, tag: "mock-providers video", size: size) : fixture
    }

    /// The response body for the video named `name` ("kling-<task id>"), paced at `bytesPerSecond` when one is set.
    func responseBody(for name: String) -> ResponseBody {
        let bytes = shared ?? Self.padded(fixture, tag: "mock-providers video \(name)", size: size)
        guard bytesPerSecond > 0 else { return ResponseBody(byteBuffer: bytes) }
        let rate = bytesPerSecond
        // 50 slices a second: smooth enough that a download's rate is steady at any sample, few
        // enough that 200 paced downloads cost the mock little.
        let slice = max(4096, rate / 50)
        return ResponseBody(contentLength: bytes.readableBytes) { writer in
            let clock = ContinuousClock()
            let start = clock.now
            var remaining = bytes
            var sent = 0
            while let part = remaining.readSlice(length: min(slice, remaining.readableBytes)), part.readableBytes > 0 {
                // Each slice leaves when the bytes before it are due, so a slow reader is not
                // made up for with a burst later.
                let due = start + .seconds(Double(sent) / Double(rate))
                if due > clock.now { try await Task.sleep(until: due, clock: clock) }
                try await writer.write(part)
                sent += part.readableBytes
            }
            try await writer.finish(nil)
        }
    }

    private static func padded(_ fixture: ByteBuffer, tag text: String, size: Int) -> ByteBuffer {
        var buffer = fixture
        let tag = Array("\(text)\n".utf8)
        let boxSize = max(8 + tag.count, size - fixture.readableBytes)
        buffer.reserveCapacity(fixture.readableBytes + boxSize)
        buffer.writeInteger(UInt32(boxSize))
        buffer.writeBytes(Array("free".utf8))
        buffer.writeBytes(tag)
        buffer.writeRepeatingByte(0, count: boxSize - 8 - tag.count)
        return buffer
    }
}
