import Foundation

/// The words for a system call's failure (`strerror`), so every error message that quotes
/// one reads the same: "cannot write /out/7/.image-1.png.42.tmp: No space left on device".
public enum SystemErrorText {
    /// `code` defaults to `errno` as it is at the call: read it before any other call can change it.
    public static func of(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }
}
