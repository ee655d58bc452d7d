import Foundation
import Reactor

/// Recovering what stopped workers left behind, on SQLite: `StoreRecovery` in one writer item.
extension SQLiteJobStore {
    public func recoverAbandonedJobs(now: Double, completion: @escaping (Int) -> Void) {
        loop.assertInLoop()
        let counted = ReplyBox(0)
        let reply = LoopBound(completion, on: loop)
        let owner = owner
        let limit = maxInterruptions
        enqueue(
            WriterQueue.Item(
                apply: { connection in
                    counted.value = try StoreRecovery.recover(now: now, owner: owner, limit: limit, on: connection)
                },
                afterCommit: { reply.value(counted.value) }))
    }
}
