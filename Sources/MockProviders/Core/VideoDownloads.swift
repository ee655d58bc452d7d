import Hummingbird

/// The bytes a video download URL serves: the MP4 fixture as it is, or, when the mock was told to
/// (`--tag-videos`, `--video-bytes`), the fixture followed by one top-level `free` box (ISO BMFF
/// lets a file carry such boxes anywhere, and players skip them) that names the task the video
/// belongs to and pads the file to the size asked for. Tests then see that each job downloaded
/// its own task's video, and benches get videos of a realistic size.
struct VideoDownloads: Sendable {
    let fixture: ByteBuffer
    /// Write the task's name into each video.
    let tagged: Bool
    /// The size of each video in bytes; 0 serves the fixture's own size.
    let size: Int

    /// The body for the video named `name` ("kling-<task id>").
    func body(for name: String) -> ByteBuffer {
        guard tagged || size > 0 else { return fixture }
        var buffer = fixture
        let tag = Array("mock-providers video \(name)\n".utf8)
        let boxSize = max(8 + tag.count, size - fixture.readableBytes)
        buffer.reserveCapacity(fixture.readableBytes + boxSize)
        buffer.writeInteger(UInt32(boxSize))
        buffer.writeBytes(Array("free".utf8))
        buffer.writeBytes(tag)
        buffer.writeRepeatingByte(0, count: boxSize - 8 - tag.count)
        return buffer
    }
}
