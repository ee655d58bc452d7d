import Dispatch
import Foundation

/// The serial queues that write job output files, off the loop thread.
///
/// Making a job's folder, writing a file, its fsync and the rename take from under a
/// millisecond to over 100 ms on a busy disk; on the loop that would stall every job. Files of
/// one job stay in order on one queue (chosen by job id). Eight queues, because the fsyncs wait
/// on the disk rather than the CPU; many more contend on the filesystem's locks with two cores.
enum OutputWriter {
    static let queues = (0..<8).map { DispatchQueue(label: "reactor-worker.outputs.\($0)") }

    static func queue(for jobID: Int64) -> DispatchQueue {
        queues[Int(UInt64(bitPattern: jobID) % UInt64(queues.count))]
    }
}
