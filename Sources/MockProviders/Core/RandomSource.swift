/// The mock's only source of randomness: fault draws and every generated ID.
///
/// With `--seed N` the sequence is fixed, so a single-client run sees the same faults and IDs each time (with many
/// concurrent clients the order of draws, and so the mapping to requests, still depends on scheduling).
/// Thread-safe; each call takes a short lock.
final class RandomSource: Sendable {
    private let state: LockedState<SplitMix64>

    /// A generator seeded with `seed`, or from the system's entropy when nil.
    init(seed: UInt64?) {
        state = LockedState(SplitMix64(seed: seed ?? UInt64.random(in: .min ... .max)))
    }

    /// Restarts the sequence from `seed`.
    func reseed(_ seed: UInt64) {
        state.withLock { $0 = SplitMix64(seed: seed) }
    }

    /// A uniform value in [0, 1).
    func unit() -> Double {
        let bits = state.withLock { $0.next() }
        return Double(bits >> 11) * 0x1.0p-53
    }

    /// A uniform integer in `range`.
    func int(in range: ClosedRange<Int>) -> Int {
        let bits = state.withLock { $0.next() }
        return range.lowerBound + Int(bits % UInt64(range.count))
    }

    /// `count` lowercase hex digits.
    func hex(_ count: Int) -> String {
        text(count, alphabet: Self.hexDigits)
    }

    /// `count` characters from [A-Za-z0-9], like Kling's and Ark's task IDs.
    func alphanumeric(_ count: Int) -> String {
        text(count, alphabet: Self.alphanumerics)
    }

    /// A version-4 style UUID string in lowercase (Leonardo's generation IDs look like this).
    func uuid() -> String {
        let digits = Array(hex(32))
        var out = ""
        out.reserveCapacity(36)
        for (index, digit) in digits.enumerated() {
            if index == 8 || index == 12 || index == 16 || index == 20 { out.append("-") }
            out.append(index == 12 ? "4" : digit)
        }
        return out
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
    private static let alphanumerics = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    private func text(_ count: Int, alphabet: [UInt8]) -> String {
        var bytes = [UInt8](repeating: 0, count: count)
        state.withLock { generator in
            var bits: UInt64 = 0
            for index in 0..<count {
                // Each 64-bit draw yields eight characters; fewer lock round-trips than one draw per character.
                if index % 8 == 0 { bits = generator.next() }
                bytes[index] = alphabet[Int(bits & 0xFF) % alphabet.count]
                bits >>= 8
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Vigna's SplitMix64: tiny, fast and good enough for fault draws and IDs (not for cryptography).
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
