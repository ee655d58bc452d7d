import Foundation
import Jobs

/// What `watch` draws from one `QueueOverview`: a full screen for a terminal, or one plain
/// line per refresh when the output is a pipe or a file.
struct WatchScreen {
    /// Slots in the gate (MAX_CONCURRENT_JOBS), for "2/3 active".
    var capacity: Int
    var databasePath: String

    /// The screen, one string per line, each at most `width` columns (before colour codes).
    func lines(_ overview: QueueOverview, width: Int, height: Int, now: Date, color: Bool) -> [String] {
        func paint(_ text: String, _ code: String) -> String { color ? code + text + ANSI.reset : text }
        func fit(_ text: String) -> String { TextTable.truncate(text, to: max(width, 20)) }
        let clock = Self.clock(now)
        var lines = [
            paint(fit("reactor-worker watch  \(databasePath)  \(clock)   (q or Ctrl-C quits)"), ANSI.bold),
            fit(summary(overview)),
            "",
        ]
        if !overview.workers.isEmpty {
            lines.append(paint(fit("WORKERS"), ANSI.bold))
            for worker in overview.workers.prefix(8) {
                let line = "  " + fit(Self.describe(worker))
                lines.append(worker.isGone ? paint(line, ANSI.red) : line)
            }
            if overview.workers.count > 8 { lines.append("  … and \(overview.workers.count - 8) more") }
            lines.append("")
        }
        lines.append(paint(fit("ACTIVE (\(overview.active.count))"), ANSI.bold))
        if overview.active.isEmpty { lines.append("  nothing running") }
        // Leave room for the recent block: at least its title and three rows.
        let roomForActive = max(height - lines.count - 6, 1)
        let barWidth = min(max(width - 78, 10), 30)
        var active = TextTable([
            .init(title: "ID", alignRight: true), .init(title: "TYPE"), .init(title: "PROVIDER"),
            .init(title: "PROGRESS"), .init(title: "PHASE", maxWidth: 24), .init(title: "TIME", alignRight: true),
        ])
        for job in overview.active.prefix(roomForActive) {
            active.add([
                job.pipelineID.map { "\(job.id) (P\($0))" } ?? String(job.id), job.type, job.provider,
                Self.progressBar(job.progress, width: barWidth), Self.phase(job),
                job.runSeconds.map(DurationText.format) ?? "-",
            ])
        }
        if !overview.active.isEmpty {
            lines += active.render().split(separator: "\n").map { "  " + fit(String($0)) }
        }
        if overview.active.count > roomForActive {
            lines.append("  … and \(overview.active.count - roomForActive) more")
        }
        lines.append("")
        lines.append(paint(fit("RECENT"), ANSI.bold))
        if overview.recent.isEmpty { lines.append("  nothing finished yet") }
        var recent = TextTable([
            .init(title: "ID", alignRight: true), .init(title: "TYPE"), .init(title: "PROVIDER"),
            .init(title: "STATUS"), .init(title: "TIME", alignRight: true), .init(title: "ENDED", alignRight: true),
            .init(title: "ERROR"),
        ])
        let roomForRecent = max(height - lines.count - 1, 1)
        let shown = overview.recent.prefix(roomForRecent)
        for job in shown {
            recent.add([
                String(job.id), job.type, job.provider, job.status, job.runSeconds.map(DurationText.format) ?? "-",
                job.finishedSecondsAgo.map { DurationText.format($0) + " ago" } ?? "-",
                job.error?.split(separator: "\n").first.map(String.init) ?? "",
            ])
        }
        if !shown.isEmpty {
            let rows = recent.render().split(separator: "\n").map { "  " + fit(String($0)) }
            for (index, row) in rows.enumerated() {
                let status = index == 0 ? nil : shown[shown.startIndex + index - 1].jobStatus
                lines.append(
                    status == .failed ? paint(row, ANSI.red) : status == .completed ? paint(row, ANSI.green) : row)
            }
        }
        return lines
    }

    /// The one-line form for pipes and files: time, gate, queue, and each active job's progress.
    func plainLine(_ overview: QueueOverview, now: Date) -> String {
        var line = "\(Self.clock(now)) \(summary(overview))"
        for job in overview.active {
            line +=
                " | #\(job.id)\(job.pipelineID.map { " P\($0)" } ?? "") \(job.type) \(job.provider) "
                + "\(Self.percent(job.progress)) \(Self.phase(job))"
        }
        return line
    }

    /// "2/3 active  queue 5 (1 waiting to retry)  last hour: 18 completed, 1 failed". The gate's
    /// size is the live workers' own MAX_CONCURRENT_JOBS summed; `capacity` only stands in when no
    /// worker registered itself (workers of a version before the `workers` table).
    func summary(_ overview: QueueOverview) -> String {
        let running = overview.active.count
        let live = overview.workers.filter { !$0.isGone }.count
        var text: String
        if !overview.workers.isEmpty && live == 0 {
            // Rows held by workers that died wait for the next worker's recovery.
            text = "no live worker" + (running > 0 ? " (\(running) jobs held by gone workers)" : "")
        } else {
            text = "\(running)/\(overview.liveCapacity ?? capacity) active"
            if live > 0 { text += live == 1 ? " (1 worker)" : " (\(live) workers)" }
        }
        text += "  queue \(overview.queuedNow)"
        if overview.queuedLater > 0 { text += " (+\(overview.queuedLater) waiting to retry)" }
        if overview.waiting > 0 { text += " (+\(overview.waiting) pipeline steps waiting)" }
        let hour = overview.finishedLastHour
        text += "  last hour: \(hour[JobStatus.completed.rawValue] ?? 0) completed, "
        text += "\(hour[JobStatus.failed.rawValue] ?? 0) failed"
        if let cancelled = hour[JobStatus.cancelled.rawValue], cancelled > 0 { text += ", \(cancelled) cancelled" }
        return text
    }

    /// "studio-1:4121  2/4 active  running  heartbeat 1s ago  v0.7.0", or "… gone (last heartbeat 75s ago)".
    static func describe(_ worker: WorkerRow) -> String {
        let name = "\(worker.host):\(worker.pid)"
        let age = DurationText.format(worker.heartbeatAgeSeconds)
        if worker.isGone { return "\(name)  gone (last heartbeat \(age) ago)" }
        return
            "\(name)  \(worker.activeJobs)/\(worker.maxConcurrentJobs) active  \(worker.status)  heartbeat \(age) ago  v\(worker.version)"
    }

    /// `[██████░░░░░░]  52%`
    static func progressBar(_ progress: Double, width: Int) -> String {
        let value = min(max(progress, 0), 1)
        let filled = Int((value * Double(width)).rounded(.down))
        return "[" + String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled) + "] "
            + percent(value).leftPadded(to: 4)
    }

    static func percent(_ progress: Double) -> String { "\(Int((min(max(progress, 0), 1) * 100).rounded(.down)))%" }

    /// What the job is doing: the provider's own state word when the worker recorded one.
    static func phase(_ job: JobRecord) -> String {
        if job.jobStatus == .cancelRequested { return "cancelling" }
        if let state = job.providerState, !state.isEmpty { return state }
        return job.jobStatus == .keyingProcessing ? "keying" : "running"
    }

    static func clock(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss"
        return formatter.string(from: date)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
