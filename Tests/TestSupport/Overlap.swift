/// The most intervals open at one moment (a task from its create to its last poll, say): at
/// some interval's start, how many others had started and not yet ended.
public func mostOpenAtOnce(_ intervals: [(start: Double, end: Double)]) -> Int {
    intervals.map { interval in
        intervals.filter { $0.start <= interval.start && $0.end >= interval.start }.count
    }.max() ?? 0
}
