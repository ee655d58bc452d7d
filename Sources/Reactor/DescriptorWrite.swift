import Foundation

/// A whole buffer to a descriptor: `write(2)` may take only part of it, or be interrupted by a
/// signal before writing anything. Shared by the log, downloads and the terminal view.
public enum DescriptorWrite {
    /// Writes every byte of `bytes` to `descriptor`, going on after short writes and EINTR.
    /// Returns nil once all are written, or the errno of the write that failed.
    public static func all(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if written == 0 { return EIO }  // no progress and no error: do not spin on it
            offset += written
        }
        return nil
    }
}
