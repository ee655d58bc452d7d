/// Carries a loop-only value through `EventLoop.execute`, which demands `Sendable`.
///
/// @unchecked Sendable: use only when the value is created on the loop thread and handed
/// back to the same loop thread, so it is never touched by two threads.
public struct UncheckedBox<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
