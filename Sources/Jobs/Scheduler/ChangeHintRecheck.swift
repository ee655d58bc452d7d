import Reactor

/// Looks again shortly after a change hint (3, 10 and 30 ms later). Loop thread only.
///
/// Another program's write can show up in the database files a moment before its commit is
/// visible to our reader; without a second look that row would wait for the slow fallback poll.
/// On a disk busy with writeback a commit can take more than 3 ms to show, hence three looks
/// spread over 30 ms; a row missed by all three waits for the fallback poll. A new hint
/// restarts the series.
final class ChangeHintRecheck {
    /// Seconds after the hint of each look.
    static let delays = [0.003, 0.010, 0.030]

    private let timer: TimerWatcher
    private var next = 0

    init(loop: EventLoop, look: @escaping () -> Void) {
        timer = TimerWatcher(loop: loop) {}
        timer.setCallback { [unowned self] in
            look()
            next += 1
            if next < Self.delays.count { timer.schedule(after: Self.delays[next] - Self.delays[next - 1]) }
        }
    }

    /// Schedules the series of looks from now.
    func start() {
        next = 0
        timer.schedule(after: Self.delays[0])
    }

    func stop() { timer.stop() }
}
