import Foundation
import Reactor

/// Set by SIGINT, SIGTERM and SIGHUP while `watch` owns the terminal, so it can restore the
/// terminal before it exits instead of dying in raw mode. Written only by the handler.
nonisolated(unsafe) private var terminalStopSignal: sig_atomic_t = 0

/// The few terminal facts and modes `watch` needs, over termios and ioctl.
enum Terminal {
    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Columns and rows of the terminal on stdout, or 100×30 when it cannot tell.
    static func size() -> (columns: Int, rows: Int) {
        var window = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &window) == 0, window.ws_col > 0, window.ws_row > 0 {
            return (Int(window.ws_col), Int(window.ws_row))
        }
        return (100, 30)
    }

    /// Routes SIGINT, SIGTERM and SIGHUP to `stopRequested` instead of ending the process.
    static func catchStopSignals() {
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signal(number) { _ in terminalStopSignal = 1 }
        }
    }

    static var stopRequested: Bool { terminalStopSignal != 0 }

    /// Waits up to `timeout` seconds for a byte on stdin; nil when none came (or a signal
    /// cut the wait short, which the caller sees through `stopRequested`).
    static func readByte(timeout: Double) -> UInt8? {
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(max(timeout, 0) * 1000))
        guard ready > 0, descriptor.revents & Int16(POLLIN) != 0 else { return nil }
        var byte: UInt8 = 0
        return read(STDIN_FILENO, &byte, 1) == 1 ? byte : nil
    }

    /// Writes text to stdout at once (no buffering: each frame must appear whole and now).
    static func write(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { DescriptorWrite.all($0, to: STDOUT_FILENO) }
    }
}

/// The terminal on stdin switched to raw-ish mode (keys arrive one by one, unechoed, and
/// Ctrl-C arrives as a byte instead of a signal) until `restore()`.
final class RawTerminalMode {
    private var saved = termios()
    private var active = false

    /// Switches stdin's terminal; returns nil when stdin is not a terminal.
    init?() {
        guard Terminal.isTerminal(STDIN_FILENO), tcgetattr(STDIN_FILENO, &saved) == 0 else { return nil }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG)
        raw.c_iflag &= ~tcflag_t(IXON)
        // Read returns at once with what is there: the refresh loop polls, never blocks.
        withUnsafeMutableBytes(of: &raw.c_cc) { bytes in
            bytes[Int(VMIN)] = 0
            bytes[Int(VTIME)] = 0
        }
        guard tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0 else { return nil }
        active = true
    }

    /// Puts the terminal back as it was. Idempotent.
    func restore() {
        guard active else { return }
        active = false
        _ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
    }

    deinit { restore() }
}

/// ANSI sequences `watch` uses.
enum ANSI {
    static let alternateScreenOn = "\u{1B}[?1049h"
    static let alternateScreenOff = "\u{1B}[?1049l"
    static let hideCursor = "\u{1B}[?25l"
    static let showCursor = "\u{1B}[?25h"
    static let home = "\u{1B}[H"
    static let clearToLineEnd = "\u{1B}[K"
    static let clearToScreenEnd = "\u{1B}[J"
    static let bold = "\u{1B}[1m"
    static let dim = "\u{1B}[2m"
    static let red = "\u{1B}[31m"
    static let yellow = "\u{1B}[33m"
    static let green = "\u{1B}[32m"
    static let reset = "\u{1B}[0m"
}
