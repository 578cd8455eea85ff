#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces a file so that a crash at any moment leaves either the old file or the complete new
/// one at the path: write a temporary file in the same directory (so rename stays on one file
/// system), fsync it, rename it over the target, fsync the directory so the rename itself is durable.
/// On any failure before the rename the temporary file is removed and the target is untouched.
public enum AtomicFile {
    /// Temporary files are named ".<target name>.tmp-<pid>-<n>": hidden, and never matching a
    /// pattern like "ckpt-*.safetensors", so a reader listing the directory cannot mistake them.
    static let temporaryInfix = ".tmp-"

    /// Stages at which tests may inject a failure; `nil` in normal use.
    enum Stage { case created, written, synced }
    nonisolated(unsafe) static var failureInjection: ((Stage) throws -> Void)?
    // Writers are expected to run on one thread (rank 0's training loop); these are not locked.
    nonisolated(unsafe) private static var counter = 0
    nonisolated(unsafe) private static var inFlight = Set<String>()

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try bytes.withUnsafeBytes { try write([$0], to: path) }
    }

    public static func write(_ chunks: [UnsafeRawBufferPointer], to path: String) throws {
        let (directory, name) = split(path)
        counter += 1
        let temp = (directory == "" ? "" : directory + "/") + "." + name + temporaryInfix + "\(getpid())-\(counter)"
        inFlight.insert(temp)
        defer { inFlight.remove(temp) }
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SafeTensorsError(file: path, problem: "cannot create temporary file \(temp): \(PosixFile.errnoText())")
        }
        var isOpen = true
        do {
            try failureInjection?(.created)
            let file = PosixFile(fd: fd, path: temp)
            for c in chunks { try file.writeAll(c) }
            try failureInjection?(.written)
            guard fsync(fd) == 0 else { throw SafeTensorsError(file: temp, problem: "fsync failed: \(PosixFile.errnoText())") }
            try failureInjection?(.synced)
            isOpen = false
            // close reports delayed write errors on some file systems (NFS): it must succeed too.
            guard close(fd) == 0 else { throw SafeTensorsError(file: temp, problem: "close failed: \(PosixFile.errnoText())") }
            guard rename(temp, path) == 0 else {
                throw SafeTensorsError(file: path, problem: "cannot rename \(temp) over it: \(PosixFile.errnoText())")
            }
        } catch {
            if isOpen { _ = close(fd) }
            unlink(temp)
            throw error
        }
        try syncDirectory(directory == "" ? "." : directory, target: path)
    }

    /// After a successful rename the new file is in place; a failing directory fsync only means the
    /// rename may not survive a power cut, and is reported as such.
    private static func syncDirectory(_ directory: String, target: String) throws {
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else {
            throw SafeTensorsError(file: target, problem: "written, but cannot open directory \(directory) to fsync it: \(PosixFile.errnoText())")
        }
        defer { _ = close(dfd) }
        // Some file systems cannot fsync a directory (EINVAL) and order renames anyway.
        if fsync(dfd) != 0 && errno != EINVAL {
            throw SafeTensorsError(file: target, problem: "written, but fsync of directory \(directory) failed: \(PosixFile.errnoText())")
        }
    }

    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    /// If `name` is a temporary file of this writer, the target name and the writing process id.
    public static func temporaryFileInfo(_ name: String) -> (target: String, pid: Int32)? {
        let bytes = Array(name.utf8), infix = Array(temporaryInfix.utf8)
        guard bytes.first == UInt8(ascii: "."), bytes.count > infix.count + 1 else { return nil }
        var at = bytes.count - infix.count
        while at > 1 && !bytes[at..<(at + infix.count)].elementsEqual(infix) { at -= 1 }
        guard at > 1 else { return nil }
        let target = String(decoding: bytes[1..<at], as: UTF8.self)
        let rest = String(decoding: bytes[(at + infix.count)...], as: UTF8.self).split(separator: "-", omittingEmptySubsequences: false)
        guard rest.count == 2, let pid = Int32(rest[0]), pid > 0, Int(rest[1]) != nil else { return nil }
        return (target, pid)
    }

    /// Deletes temporary files left in `directory` by writers that died (kill -9, power cut) before
    /// renaming them. Files of a process that is still alive are left alone. Returns the removed paths.
    @discardableResult
    public static func removeStaleTemporaryFiles(in directory: String) -> [String] {
        guard let d = opendir(directory) else { return [] }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            names.append(name)
        }
        closedir(d)
        var removed: [String] = []
        for name in names {
            guard let info = temporaryFileInfo(name) else { continue }
            let path = directory + "/" + name
            if inFlight.contains(path) { continue }
            // Another live process may be writing it right now; a dead one never will again.
            if info.pid != getpid() && (kill(info.pid, 0) == 0 || errno == EPERM) { continue }
            if unlink(path) == 0 { removed.append(path) }
        }
        return removed
    }
}
