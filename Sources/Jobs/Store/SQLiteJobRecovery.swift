import Foundation
import Reactor

/// Recovering what stopped workers left behind, on SQLite: `StoreRecovery` in one writer item.
extension SQLiteJobStore {
    public func recoverAbandonedJobs(now: Double, completion: @escaping (Int) -> Void) {
        loop.assertInLoop()
        enqueue(StoreRecovery.item(now: now, owner: owner, limit: maxInterruptions, loop: loop, reply: completion))
    }
}
