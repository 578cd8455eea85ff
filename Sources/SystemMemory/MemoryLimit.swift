#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How much more memory this process can take before something refuses it: the node's available
/// memory (its share of it, when several ranks run on the node), a cgroup's limit, or a
/// `ulimit -v` / `ulimit -d` of this process. Checked before large allocations, so a size that
/// cannot fit becomes a one-line error with the figures instead of an allocation that traps or a
/// process the kernel's OOM killer ends.
public struct MemoryLimit: Equatable, Sendable {
    /// Bytes this process can still allocate.
    public let bytes: Int
    /// What sets the limit, for messages: "available memory", "cgroup memory.max", "ulimit -v".
    public let source: String

    public init(bytes: Int, source: String) {
        self.bytes = bytes
        self.source = source
    }

    /// "12.3 GiB of available memory".
    public var description: String { "\(MemoryLimit.format(bytes)) (\(source))" }

    /// The tightest limit on this process now. `sharedBy` processes of the same job on this node
    /// split the node-wide figures (available memory and a cgroup's), each expected to take alike.
    public static func current(sharedBy processes: Int = 1) -> MemoryLimit {
        let share = max(1, processes)
        var limits: [MemoryLimit] = []
        if let available = meminfo("MemAvailable") {
            limits.append(MemoryLimit(bytes: available / share, source: share == 1 ? "available memory" : "1/\(share) of available memory, \(share) ranks on this node"))
        }
        if let cgroup = cgroupRemaining() {
            limits.append(MemoryLimit(bytes: cgroup.bytes / share, source: cgroup.source))
        }
        // Address-space and data-segment limits count what the process already has mapped.
        var rl = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &rl) == 0, rl.rlim_cur != rlim_t.max, let used = status("VmSize") {
            limits.append(MemoryLimit(bytes: max(0, Int(clamping: rl.rlim_cur) - used), source: "ulimit -v"))
        }
        if getrlimit(Int32(RLIMIT_DATA.rawValue), &rl) == 0, rl.rlim_cur != rlim_t.max, let used = status("VmData") {
            limits.append(MemoryLimit(bytes: max(0, Int(clamping: rl.rlim_cur) - used), source: "ulimit -d"))
        }
        return limits.min(by: { $0.bytes < $1.bytes }) ?? MemoryLimit(bytes: Int.max, source: "no limit found")
    }

    /// The limit that `bytes` more would exceed, or nil when they fit.
    public static func exceeded(by bytes: Int, sharedBy processes: Int = processesOnThisNode) -> MemoryLimit? {
        let limit = current(sharedBy: processes)
        return bytes > limit.bytes ? limit : nil
    }

    /// Ranks of this job on this node, as Open MPI or Slurm tell them: they share its memory.
    public static var processesOnThisNode: Int {
        for key in ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"] {
            if let value = getenv(key), let n = Int(String(cString: value)), n >= 1 { return n }
        }
        return 1
    }

    /// "1.5 GiB", "312 MiB", "40 KiB".
    public static func format(_ bytes: Int) -> String {
        let b = Double(bytes)
        if b >= 1_073_741_824 { return formatted(b / 1_073_741_824, "GiB") }
        if b >= 1_048_576 { return formatted(b / 1_048_576, "MiB") }
        return formatted(b / 1024, "KiB")
    }

    private static func formatted(_ value: Double, _ unit: String) -> String {
        // One decimal below 100, none above: enough to compare an estimate with a limit.
        let tenths = (value * 10).rounded()
        if value >= 100 || tenths.truncatingRemainder(dividingBy: 10) == 0 { return "\(Int(value.rounded())) \(unit)" }
        return "\(Int(tenths) / 10).\(Int(tenths) % 10) \(unit)"
    }

    // MARK: sources

    /// A "Key: N kB" line of /proc/meminfo, in bytes.
    static func meminfo(_ key: String) -> Int? { kilobytes(key, in: "/proc/meminfo") }

    /// A "Key: N kB" line of /proc/self/status, in bytes.
    static func status(_ key: String) -> Int? { kilobytes(key, in: "/proc/self/status") }

    private static func kilobytes(_ key: String, in path: String) -> Int? {
        guard let text = smallFile(path) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            let digits = line.dropFirst(key.count + 1).filter { $0.isNumber }
            return Int(digits).map { $0 * 1024 }
        }
        return nil
    }

    /// The least room left under any cgroup limit of this process: v2 `memory.max` minus
    /// `memory.current` of its cgroup and every ancestor, or v1 `memory.limit_in_bytes` minus
    /// `memory.usage_in_bytes`.
    static func cgroupRemaining() -> MemoryLimit? {
        guard let membership = smallFile("/proc/self/cgroup") else { return nil }
        var best: MemoryLimit?
        func consider(_ limitPath: String, _ usagePath: String, _ name: String) {
            guard let limitText = smallFile(limitPath)?.trimmed, let limit = Int(limitText),
                  let usageText = smallFile(usagePath)?.trimmed, let usage = Int(usageText) else { return }
            // cgroup v1 writes a huge page-rounded number for "no limit".
            guard limit < 1 << 60 else { return }
            let room = MemoryLimit(bytes: max(0, limit - usage), source: "cgroup \(name) \(format(limit))")
            if best == nil || room.bytes < best!.bytes { best = room }
        }
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty {
                var path = String(fields[2])
                while true {
                    let dir = "/sys/fs/cgroup" + (path == "/" ? "" : path)
                    consider(dir + "/memory.max", dir + "/memory.current", "memory.max")
                    if path == "/" || path.isEmpty { break }
                    let cut = path.lastIndex(of: "/") ?? path.startIndex
                    path = String(path[..<cut])
                    if path.isEmpty { path = "/" }
                }
            } else if fields[1].split(separator: ",").contains("memory") {
                let dir = "/sys/fs/cgroup/memory" + (fields[2] == "/" ? "" : String(fields[2]))
                consider(dir + "/memory.limit_in_bytes", dir + "/memory.usage_in_bytes", "memory.limit_in_bytes")
            }
        }
        return best
    }

    /// The text of a small pseudo-file (at most 64 KiB), or nil.
    static func smallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 1 << 16)
        var filled = 0
        while filled < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            filled += n
        }
        return String(decoding: bytes[0..<filled], as: UTF8.self)
    }
}

private extension String {
    var trimmed: String { String(filter { !$0.isWhitespace }) }
}
