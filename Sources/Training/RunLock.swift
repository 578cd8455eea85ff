import Foundation
import SystemMemory
import VAE
#if canImport(Glibc)
import Glibc
#endif

/// One writer per run directory: rank 0 holds an exclusive lock on `<run>/run.lock` from before
/// the job reads or writes anything of the run until the process ends, so a second `train` on
/// the same directory (a `--resume` started while the first still runs) stops at once instead of
/// overwriting the first one's checkpoints, config.json and metrics.jsonl.
///
/// The lock is flock(2): the kernel releases it when the holder exits in any way, `kill -9`
/// included, so a stale lock file never blocks a later resume. The file holds the holder's host
/// and pid, for the message.
public enum RunLock {
    public static let fileName = "run.lock"
    /// The open lock file of this process; open until exit, which releases the lock.
    nonisolated(unsafe) private static var held: [String: Int32] = [:]

    /// Takes the lock on `runDirectory` (created if missing), or throws one line naming the
    /// holder. `flag` is the option that named the directory, for the message.
    public static func acquire(runDirectory: String, flag: String) throws {
        guard held[runDirectory] == nil else { return }
        // The same words as RunDirectory.create: which component is a file, or what the system refused.
        if case .failure(let refusal) = DirectoryCreation.create(runDirectory) {
            throw ConfigError("\(flag) \(runDirectory): \(refusal); the run directory must be a directory or a path that does not exist yet")
        }
        let path = runDirectory + "/" + fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ConfigError("\(flag) \(runDirectory): cannot open \(fileName) (\(String(cString: strerror(errno))))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno
            if reason == EWOULDBLOCK {
                let holder = readHolder(fd)
                close(fd)
                throw ConfigError("\(flag) \(runDirectory) is in use by another mpivae job (\(holder)); wait for it to end or choose another directory")
            }
            // A file system without flock (some Lustre and NFS mounts) must not stop every run;
            // it loses the guarantee, and says so.
            let warning = "warning: \(flag) \(runDirectory): cannot lock \(fileName) (\(String(cString: strerror(reason)))); "
                + "this file system may not support locks, so a second job on this directory would not be stopped\n"
            _ = warning.withCString { write(2, $0, strlen($0)) }
        }
        var host = [CChar](repeating: 0, count: 256)
        _ = gethostname(&host, host.count - 1)
        let line = "host \(String(cString: host)) pid \(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = line.withCString { pwrite(fd, $0, strlen($0), 0) }
        held[runDirectory] = fd
    }

    /// "host H, pid P" from the holder's lock file.
    static func readHolder(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = pread(fd, &buffer, buffer.count, 0)
        let text = count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : ""
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        if words.count >= 4, words[0] == "host", words[2] == "pid" {
            return "host \(words[1]), pid \(words[3])"
        }
        return "holder unknown"
    }
}
