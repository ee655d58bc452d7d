import Reactor

/// Carries a value from the writer thread's `apply` to its `afterCommit` reply on the loop.
/// @unchecked Sendable: the two never run at once, because the reply is handed to the loop
/// only after the batch committed (a happens-before edge through the loop's queue mutex).
final class ReplyBox<Value>: @unchecked Sendable {
    let initial: Value
    var value: Value
    init(_ value: Value) {
        initial = value
        self.value = value
    }
}

extension WriterQueue.Item {
    /// A write that answers: `work` runs in the writer's transaction, and `reply` gets its value
    /// on `loop` once that transaction committed (`initial` if `work` never ran to its end).
    static func answering<Value>(
        _ initial: Value, on loop: EventLoop, reply: @escaping (Value) -> Void,
        _ work: @escaping @Sendable (any SQLConnection) throws -> Value
    ) -> WriterQueue.Item {
        let answer = ReplyBox(initial)
        let reply = LoopBound(reply, on: loop)
        return WriterQueue.Item(
            apply: { connection in
                // A batch can run more than once (retried, or isolating a failing item): only the
                // run that commits may answer.
                answer.value = answer.initial
                answer.value = try work(connection)
            },
            afterCommit: { reply.value(answer.value) })
    }
}
