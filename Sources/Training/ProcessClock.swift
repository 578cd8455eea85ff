import Foundation

/// Time since this process was started by the kernel (not since `main`): start-up cost as a user
/// sees it, dynamic loading and MPI initialization included.
public enum ProcessClock {
    public static func secondsSinceProcessStart() -> Double {
        // Field 22 of /proc/self/stat is the start time in clock ticks after boot; /proc/uptime
        // gives now on the same clock.
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")"),
              let uptimeText = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
              let uptime = Double(uptimeText.split(separator: " ").first ?? "")
        else { return .nan }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After ")": field 3 (state) is index 0, so field 22 is index 19.
        guard fields.count > 19, let ticks = Double(fields[19]) else { return .nan }
        return uptime - ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
