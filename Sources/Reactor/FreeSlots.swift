/// The free slot numbers of a `ConcurrencyGate`, lowest first, as a binary min-heap: taking
/// and giving back cost O(log capacity), where a scan for the first free slot would cost
/// O(capacity) per job (thousands of steps at C = 2,000). Loop thread only, like the gate.
struct FreeSlots {
    private var heap: [Int]

    /// All of 0 … capacity−1 free (an ascending array is already a min-heap).
    init(capacity: Int) { heap = Array(0..<capacity) }

    /// Removes and returns the lowest free slot, nil when none is free.
    mutating func takeLowest() -> Int? {
        guard let lowest = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(from: 0)
        }
        return lowest
    }

    /// Makes `slot` free again.
    mutating func giveBack(_ slot: Int) {
        heap.append(slot)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            let right = left + 1
            let smaller = right < heap.count && heap[right] < heap[left] ? right : left
            guard heap[smaller] < heap[parent] else { return }
            heap.swapAt(smaller, parent)
            parent = smaller
        }
    }
}
