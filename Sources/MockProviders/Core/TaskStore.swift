import Foundation
import JSON

/// Which async API a task belongs to; a task is only visible to polls of the same kind.
enum TaskKind: String, Sendable {
    case leonardo
    case seedance
    case bria
    case klingImage2Video = "image2video"
    case klingText2Video = "text2video"
}

/// Where a task stands; each provider maps these to its own status words.
enum TaskPhase: Sendable {
    case queued
    case running
    case succeeded
    case failed
    case cancelled

    var isTerminal: Bool {
        switch self {
        case .queued, .running: return false
        case .succeeded, .failed, .cancelled: return true
        }
    }
}

/// An async job the mock pretends to run. Its phase is a pure function of the time since submit, so no timer or
/// background task exists per job: the first quarter of `duration` is `queued`, the rest `running`, then terminal.
struct MockTask: Sendable {
    let id: String
    let kind: TaskKind
    /// Unix seconds at submit.
    let createdAt: Double
    let started: ContinuousClock.Instant
    /// Seconds from submit to the terminal phase.
    let duration: Double
    /// Ends in `failed` instead of `succeeded` (set by `failed_task`).
    var fails: Bool
    var cancelled = false
    /// Number of outputs (Leonardo images); 1 elsewhere.
    let count: Int
    /// The caller's own ID (Kling `external_task_id`).
    let externalID: String?
    /// Request fields echoed back by polls (prompt, model, sizes, …).
    let details: JSONObject

    func phase(at now: ContinuousClock.Instant = .now) -> TaskPhase {
        if cancelled { return .cancelled }
        let elapsed = (now - started) / .seconds(1)
        if elapsed >= duration { return fails ? .failed : .succeeded }
        return elapsed < duration * 0.25 ? .queued : .running
    }

    /// Unix seconds of the last phase change, for `updated_at` fields.
    func updatedAt(at now: ContinuousClock.Instant = .now) -> Double {
        switch phase(at: now) {
        case .queued, .cancelled: return createdAt
        case .running: return createdAt + duration * 0.25
        case .succeeded, .failed: return createdAt + duration
        }
    }
}

/// All tasks submitted since start. Survives `/_mock/reset` so a client polling across a reset still finds its
/// tasks. Thread-safe with one short lock per call; bounded by dropping the oldest half when it grows too large.
final class TaskStore: Sendable {
    private struct State: Sendable {
        var tasks: [String: MockTask] = [:]
        var byExternalID: [String: String] = [:]
        var order: [String] = []
    }

    private let state = LockedState(State())
    private let capacity: Int

    init(capacity: Int = 200_000) {
        self.capacity = capacity
    }

    /// Stores `task` and returns true, or refuses it (false) when its `externalID` is taken: Kling keeps
    /// `external_task_id` unique per account and answers a repeat with HTTP 400, code 1201 (PROVIDERS.md §6).
    func insert(_ task: MockTask) -> Bool {
        state.withLock { state in
            if let external = task.externalID, state.byExternalID[external] != nil { return false }
            state.tasks[task.id] = task
            state.order.append(task.id)
            if let external = task.externalID { state.byExternalID[external] = task.id }
            if state.order.count > capacity {
                let dropped = state.order.prefix(capacity / 2)
                for id in dropped {
                    if let external = state.tasks.removeValue(forKey: id)?.externalID {
                        state.byExternalID[external] = nil
                    }
                }
                state.order.removeFirst(dropped.count)
            }
            return true
        }
    }

    /// The tasks of `kind` (all kinds when nil), newest first, as the providers' list endpoints give them.
    func list(kind: TaskKind?) -> [MockTask] {
        state.withLock { state in
            state.order.reversed().compactMap { id in
                guard let task = state.tasks[id], kind == nil || task.kind == kind else { return nil }
                return task
            }
        }
    }

    /// The task `id` of `kind`, also found by its external ID when `allowExternal` is set.
    func task(_ id: String, kind: TaskKind, allowExternal: Bool = false) -> MockTask? {
        state.withLock { state in
            var found = state.tasks[id]
            if found == nil && allowExternal, let internalID = state.byExternalID[id] {
                found = state.tasks[internalID]
            }
            guard let task = found, task.kind == kind else { return nil }
            return task
        }
    }

    /// Makes task `id` end in `failed` (a poll consumed a `failed_task` outcome); returns the updated task.
    func markFailing(_ id: String, kind: TaskKind, allowExternal: Bool = false) -> MockTask? {
        state.withLock { state in
            var key = id
            if state.tasks[key] == nil && allowExternal, let internalID = state.byExternalID[id] { key = internalID }
            guard var task = state.tasks[key], task.kind == kind else { return nil }
            task.fails = true
            state.tasks[key] = task
            return task
        }
    }

    /// Cancels a task that is still queued; returns the task as it stands afterwards, nil when unknown.
    func cancelIfQueued(_ id: String, kind: TaskKind) -> MockTask? {
        state.withLock { state in
            guard var task = state.tasks[id], task.kind == kind else { return nil }
            if task.phase() == .queued {
                task.cancelled = true
                state.tasks[id] = task
            }
            return task
        }
    }

    /// Number of tasks held.
    var count: Int { state.withLock { $0.tasks.count } }
}
