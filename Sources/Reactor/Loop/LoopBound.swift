/// A value owned by one event loop that may travel through other threads, inside closures
/// handed to `EventLoop.execute` or a writer, without being touched there: every access checks
/// that it happens on the loop's thread (SwiftNIO's `NIOLoopBound`).
///
/// @unchecked Sendable: the value is only read or written on its loop's thread, which the
/// accessors check; other threads only hold and pass the box.
public final class LoopBound<Value>: @unchecked Sendable {
    private let loop: EventLoop
    private var stored: Value

    public init(_ value: Value, on loop: EventLoop) {
        self.loop = loop
        stored = value
    }

    /// The value; crashes when read or written off the loop thread (a bug, not a condition).
    public var value: Value {
        get {
            loop.assertInLoop()
            return stored
        }
        set {
            loop.assertInLoop()
            stored = newValue
        }
    }
}

/// A weak reference to an object owned by one event loop, for work on another thread that must
/// name the object without keeping it alive: releasing the box never runs the object's deinit
/// off the loop. The reference is only loaded on the loop's thread, which `object` checks.
///
/// @unchecked Sendable: as `LoopBound`; a weak load off the loop is what the check refuses.
public final class WeakLoopBound<Object: AnyObject>: @unchecked Sendable {
    private let loop: EventLoop
    private weak var stored: Object?

    public init(_ object: Object, on loop: EventLoop) {
        self.loop = loop
        stored = object
    }

    /// The object if it is still alive; loop thread only.
    public var object: Object? {
        loop.assertInLoop()
        return stored
    }
}
