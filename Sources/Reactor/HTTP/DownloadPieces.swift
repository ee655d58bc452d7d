import Synchronization

/// The buffers a download's pieces are copied into on the loop and written from on a lane,
/// handed back when written and handed out again.
///
/// A fresh allocation per 16 KiB piece, freed on another thread, made malloc give the memory back
/// and fault it in again: in a fast downloads run, 21 % of the loop's samples were the kernel
/// zeroing pages for those copies. Kept buffers are at most `kept`, the pieces the downloads'
/// shared budget lets wait (16 MiB), so what stays allocated is what the budget allows anyway.
final class DownloadPieces: Sendable {
    /// curl hands a download at most this much per call (`CURL_MAX_WRITE_SIZE`, its default buffer).
    static let size = 16 << 10

    /// One buffer of `size` bytes and how many of them hold a piece. Owned by one thread at a
    /// time: the loop fills it, the lane that writes it gives it back.
    struct Piece: @unchecked Sendable {
        let buffer: UnsafeMutableRawBufferPointer
        var count = 0
        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[..<count]) }
    }

    private let kept: Int
    /// Unused buffers, as addresses (each `size` bytes, allocated here).
    private let free = Mutex<[UInt]>([])

    init(kept: Int) {
        self.kept = kept
    }

    deinit {
        for address in free.withLock({ $0 }) {
            UnsafeMutableRawPointer(bitPattern: address)?.deallocate()
        }
    }

    /// A piece holding a copy of `bytes` (at most `size` of them).
    func copy(_ bytes: UnsafeRawBufferPointer) -> Piece {
        precondition(bytes.count <= Self.size, "a piece is at most \(Self.size) bytes")
        let address = free.withLock { $0.popLast() }
        let start =
            address.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
            ?? UnsafeMutableRawPointer.allocate(byteCount: Self.size, alignment: 16)
        let buffer = UnsafeMutableRawBufferPointer(start: start, count: Self.size)
        if let base = bytes.baseAddress { buffer.baseAddress!.copyMemory(from: base, byteCount: bytes.count) }
        return Piece(buffer: buffer, count: bytes.count)
    }

    /// Takes a written piece back; past `kept` buffers it is freed.
    func giveBack(_ piece: Piece) {
        let address = UInt(bitPattern: piece.buffer.baseAddress)
        let keep = free.withLock { buffers -> Bool in
            guard buffers.count < kept else { return false }
            buffers.append(address)
            return true
        }
        if !keep { piece.buffer.deallocate() }
    }

    /// Buffers waiting to be handed out again.
    var keptCount: Int { free.withLock { $0.count } }
}
