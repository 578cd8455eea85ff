#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import SystemMemory

/// Thin wrappers over open/pread/write/fsync that retry on EINTR and short transfers and turn
/// failures into one-line errors naming the path.
struct PosixFile {
    let fd: Int32
    let path: String

    static func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// Only regular files: a FIFO would block the open and a device never end (see `RegularFile`).
    static func openForReading(_ path: String) throws -> PosixFile {
        switch RegularFile.open(path) {
        case .success(let opened): return PosixFile(fd: opened.fd, path: path)
        case .failure(let refusal): throw SafeTensorsError(file: path, problem: refusal.description)
        }
    }

    func closeFile() { _ = close(fd) }

    /// Size of a regular file; anything else (a directory, a FIFO) is refused.
    func regularFileSize() throws -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SafeTensorsError(file: path, problem: "cannot stat: \(Self.errnoText())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw SafeTensorsError(file: path, problem: "not a regular file") }
        return Int(st.st_size)
    }

    /// Reads exactly `count` bytes at `offset`; a short file is an error.
    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) throws {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError(file: path, problem: "read failed at offset \(offset + done): \(Self.errnoText())")
            }
            if n == 0 {
                throw SafeTensorsError(file: path, problem: "file ended at offset \(offset + done) while reading \(count) bytes at \(offset) (changed while being read?)")
            }
            done += n
        }
    }

    func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            // Large single writes are split: some kernels cap one write near 2 GiB.
            let n = write(fd, p, min(left, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError(file: path, problem: "write failed: \(Self.errnoText())")
            }
            p += n
            left -= n
        }
    }
}
