#if canImport(Glibc)
    import Glibc
#endif

/// Unbuffered output to a file descriptor, shared by the event stream (stdout) and the log (stderr).
enum FileDescriptorOutput {
    /// Writes all of `bytes` with write(2), continuing after partial writes and EINTR.
    ///
    /// - Returns: nil when everything was written, else the `errno` of the write that failed (EPIPE when the
    ///   reader went away, for example).
    static func writeAll(_ bytes: UnsafeRawBufferPointer, to fileDescriptor: Int32) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let written = write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return written < 0 ? errno : EIO
            }
        }
        return nil
    }
}
