import Reactor

/// The rows in `cancel_requested`, sorted for one worker: its own running jobs, which it stops,
/// and jobs no worker holds, which nobody else would end.
struct CancellationRequests {
    static let reason = "cancelled before it started"

    var running: [Int64] = []
    var notStarted: [Int64] = []

    /// `rows` hold `id` and `lease_owner`; `activeIDs` are the jobs this worker runs now.
    init(rows: [[String: SQLiteValue]], activeIDs: [Int64]) {
        // Asked after every commit another program's or this worker's writer makes, with up to
        // MAX_CONCURRENT_JOBS ids, and almost always with no row: build the set only for rows.
        guard !rows.isEmpty else { return }
        let active = Set(activeIDs)
        for row in rows {
            guard let id = row["id"]?.int else { continue }
            if active.contains(id) {
                running.append(id)
            } else if row["lease_owner"]?.string == nil {
                notStarted.append(id)
            }
        }
    }
}
