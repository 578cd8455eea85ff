#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Input files are regular files. A character device (`/dev/zero`, `/dev/urandom`) never ends, a
/// FIFO blocks the open until a writer comes, and a socket cannot be opened at all: what the tool
/// reads as data, settings or checkpoints is refused by kind before it is opened, and opened
/// without blocking in case it changes kind in between.
public enum RegularFile {
    /// Opens `path` for reading when it is a regular file (symbolic links followed) and returns
    /// the descriptor and size; otherwise the reason, in words, for the caller's error.
    public static func open(_ path: String) -> Result<(fd: Int32, size: Int), Refusal> {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(Refusal("cannot open: \(errnoText())")) }
        if let kind = kindName(info.st_mode) { return .failure(Refusal(kind)) }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(Refusal("cannot open: \(errnoText())")) }
        guard fstat(fd, &info) == 0 else {
            let reason = errnoText()
            close(fd)
            return .failure(Refusal("cannot stat: \(reason)"))
        }
        if let kind = kindName(info.st_mode) {
            close(fd)
            return .failure(Refusal(kind))
        }
        // Reads of a regular file never block; clearing the flag keeps them plain.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return .success((fd, Int(info.st_size)))
    }

    /// The whole of a small regular file (a settings file), at most `maximum` bytes.
    public static func read(_ path: String, maximum: Int) -> Result<[UInt8], Refusal> {
        let (fd, size): (Int32, Int)
        switch open(path) {
        case .success(let opened): (fd, size) = opened
        case .failure(let refusal): return .failure(refusal)
        }
        defer { close(fd) }
        guard size <= maximum else {
            return .failure(Refusal("\(MemoryLimit.format(size)), more than the \(MemoryLimit.format(maximum)) a file of this kind may have"))
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, size - filled) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failure(Refusal("read failed: \(errnoText())")) }
            if n == 0 { break }
            filled += n
        }
        return .success(Array(bytes[0..<filled]))
    }

    /// What is wrong with a file of this mode, or nil for a regular file.
    public static func kindName(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "is a directory, expected a file"
        case S_IFCHR: return "is a character device, expected a regular file"
        case S_IFBLK: return "is a block device, expected a regular file"
        case S_IFIFO: return "is a FIFO (named pipe), expected a regular file"
        case S_IFSOCK: return "is a socket, expected a regular file"
        default: return "is not a regular file"
        }
    }

    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
