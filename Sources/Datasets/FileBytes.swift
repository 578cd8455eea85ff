#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
#endif
import SystemMemory

/// Whole-file reads and atomic whole-file writes over POSIX calls.
///
/// Reading sizes the array from `fstat` once and fills it with `read`, so a 26 MB file costs one
/// allocation and no per-byte work. Only regular files are read (see `RegularFile`), and only
/// when their size fits the memory this process has left.
enum FileBytes {
    static func read(path: String) throws -> [UInt8] {
        let (fd, size): (Int32, Int)
        switch RegularFile.open(path) {
        case .success(let opened): (fd, size) = opened
        case .failure(let refusal): throw DataError(path, refusal.description)
        }
        defer { close(fd) }
        if let limit = MemoryLimit.exceeded(by: size) {
            throw DataError(path, "\(MemoryLimit.format(size)) to read, more than the \(limit.description) this process has left")
        }
        return try [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            while initialized < size {
                let n = systemRead(fd, buffer.baseAddress! + initialized, size - initialized)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw DataError(path, "read failed after \(initialized) of \(size) bytes: \(errnoText())")
                }
                if n == 0 {
                    throw DataError(path, "file shrank while reading: got \(initialized) of \(size) bytes")
                }
                initialized += n
            }
        }
    }

    /// Writes `parts` one after another to a temporary file beside `path`, then renames it over
    /// `path`, so a reader never sees a half-written file.
    static func writeAtomically(path: String, parts: [UnsafeRawBufferPointer]) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DataError(path, "cannot create \(temporary): \(errnoText())") }
        var failure: DataError?
        outer: for part in parts where part.count > 0 {
            var written = 0
            while written < part.count {
                let n = write(fd, part.baseAddress! + written, part.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = DataError(path, "write failed: \(errnoText())")
                    break outer
                }
                written += n
            }
        }
        if close(fd) != 0 && failure == nil { failure = DataError(path, "close failed: \(errnoText())") }
        if failure == nil && rename(temporary, path) != 0 {
            failure = DataError(path, "cannot rename \(temporary) into place: \(errnoText())")
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
