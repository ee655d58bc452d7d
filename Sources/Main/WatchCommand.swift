import ArgumentParser
import Foundation
import Jobs

/// `reactor-worker watch`: a live view of the queue, read from jobs.db.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch the queue live: running jobs with progress bars, the gate's use, queue depth, recent ends.",
        discussion: """
            Reads jobs.db (read-only) every --interval seconds, so it works beside any number of workers \
            and needs no connection to them. In a terminal it redraws one screen in place; press q or \
            Ctrl-C to quit. When the output is not a terminal (a pipe, a file, a log) it prints one plain \
            line per refresh instead. The gate's size is MAX_CONCURRENT_JOBS (from the environment or \
            .env, or --max-concurrent-jobs).
            Examples:
              reactor-worker watch
              reactor-worker watch --db /srv/studio/jobs.db --interval 1
              reactor-worker watch --once > status.txt
              reactor-worker watch | tee -a queue.log      # one line every 5 s
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Seconds between refreshes (default 0.5 in a terminal, 5 otherwise).")
    var interval: Double?

    @Option(
        name: .customLong("max-concurrent-jobs"),
        help: "The gate's size shown as 'N/size active' (MAX_CONCURRENT_JOBS, default 3).")
    var maxConcurrentJobs: Int?

    @Flag(help: "Print the view once and exit.")
    var once = false

    func validate() throws {
        if let interval, !(interval >= 0.05 && interval.isFinite) {
            throw ValidationError("--interval must be at least 0.05 seconds")
        }
    }

    func run() throws {
        let capacity = runOperation {
            try Configuration().integer("MAX_CONCURRENT_JOBS", flag: maxConcurrentJobs, default: 3, minimum: 1)
        }
        let reader = runOperation { try QueueOverview.Reader(store: database.store) }
        let screen = WatchScreen(capacity: capacity, databasePath: database.store.description)
        if Terminal.isTerminal(STDOUT_FILENO) && !once {
            runScreen(reader, screen, interval: interval ?? 0.5)
        } else {
            runPlain(reader, screen, interval: interval ?? 5)
        }
    }

    /// The full-screen view: alternate screen, hidden cursor, raw keys; all undone on exit.
    private func runScreen(_ reader: QueueOverview.Reader, _ screen: WatchScreen, interval: Double) {
        Terminal.catchStopSignals()
        let raw = RawTerminalMode()
        Terminal.write(ANSI.alternateScreenOn + ANSI.hideCursor)
        defer {
            raw?.restore()
            Terminal.write(ANSI.showCursor + ANSI.alternateScreenOff)
        }
        while !Terminal.stopRequested {
            let size = Terminal.size()
            var lines: [String]
            do {
                let overview = try reader.read(now: Date().timeIntervalSince1970)
                lines = screen.lines(overview, width: size.columns, height: size.rows, now: Date(), color: true)
            } catch {
                lines = [
                    "reactor-worker watch  \(database.store.description)", "", "cannot read the queue: \(error)",
                    "retrying…",
                ]
            }
            Terminal.write(
                ANSI.home + lines.prefix(size.rows).joined(separator: ANSI.clearToLineEnd + "\r\n")
                    + ANSI.clearToLineEnd + ANSI.clearToScreenEnd)
            if waitForQuitKey(seconds: interval) { break }
        }
    }

    /// Waits out one refresh interval; true when q, Q, Ctrl-C or Ctrl-D was pressed.
    private func waitForQuitKey(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !Terminal.stopRequested {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return false }
            guard let byte = Terminal.readByte(timeout: left) else { continue }
            if [UInt8(ascii: "q"), UInt8(ascii: "Q"), 3, 4].contains(byte) { return true }
        }
        return true
    }

    /// One line per refresh, flushed at once so `| tee` and log files see it live; with
    /// `--once`, the whole view once, without colours.
    private func runPlain(_ reader: QueueOverview.Reader, _ screen: WatchScreen, interval: Double) {
        while true {
            do {
                let overview = try reader.read(now: Date().timeIntervalSince1970)
                if once {
                    let size = Terminal.size()
                    let lines = screen.lines(overview, width: size.columns, height: 1000, now: Date(), color: false)
                    Terminal.write(lines.joined(separator: "\n") + "\n")
                } else {
                    Terminal.write(screen.plainLine(overview, now: Date()) + "\n")
                }
            } catch {
                FileHandle.standardError.write(Data("reactor-worker watch: cannot read the queue: \(error)\n".utf8))
                if once { Foundation.exit(1) }
            }
            if once { return }
            Wait.pause(seconds: interval)
        }
    }
}

/// Sleeping between plain refreshes (nanosleep, resumed after signals that do not end us).
private enum Wait {
    static func pause(seconds: Double) {
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
