/// A Prometheus-style histogram of durations in seconds: counts per upper bound, a sum and a
/// count. A value type; the buckets span quick API calls to hour-long videos.
public struct DurationHistogram: Sendable, Equatable {
    /// Upper bounds in seconds (the `+Inf` bucket is implied).
    public static let defaultBounds: [Double] = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]

    public let bounds: [Double]
    /// Observations per bucket, not cumulative; the last entry is the `+Inf` bucket.
    private var counts: [Int]
    public private(set) var sum: Double = 0
    public private(set) var count = 0

    public init(bounds: [Double] = DurationHistogram.defaultBounds) {
        self.bounds = bounds.sorted()
        counts = Array(repeating: 0, count: bounds.count + 1)
    }

    /// Adds one duration.
    public mutating func observe(_ seconds: Double) {
        let index = bounds.firstIndex { seconds <= $0 } ?? bounds.count
        counts[index] += 1
        sum += seconds
        count += 1
    }

    /// (upper bound, observations at or below it), ending with (+∞, count).
    public var cumulativeBuckets: [(Double, Int)] {
        var running = 0
        var result: [(Double, Int)] = []
        for (index, bound) in (bounds + [Double.infinity]).enumerated() {
            running += counts[index]
            result.append((bound, running))
        }
        return result
    }
}
