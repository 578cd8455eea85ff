import Foundation
import Linalg

/// A process setting that changes how the floating-point arithmetic rounds, so that a resumed
/// run is bit-for-bit the uninterrupted one only when it is the same: saved in every checkpoint,
/// and on resume restored, or reported in one line when it cannot be or the command line asks for
/// another value.
public struct ArithmeticSetting: Sendable {
    /// Its key in a checkpoint's `arithmetic` metadata.
    public let key: String
    /// How a user names it in messages: a flag or an environment variable.
    public let name: String
    /// Its value in this process, as text.
    public let current: @Sendable () -> String
    /// Sets a saved value in this process; nil when the setting is fixed once the process runs
    /// (then `howToMatch` tells the user how to start one that matches).
    public let restore: (@Sendable (String) -> Bool)?
    /// For a setting that cannot be restored: what to run with to match `value`.
    public let howToMatch: @Sendable (String) -> String

    public init(key: String, name: String, current: @escaping @Sendable () -> String,
                restore: (@Sendable (String) -> Bool)?, howToMatch: @escaping @Sendable (String) -> String) {
        self.key = key
        self.name = name
        self.current = current
        self.restore = restore
        self.howToMatch = howToMatch
    }
}

public enum ArithmeticSettings {
    /// Every setting that changes the arithmetic. A new one (a subnormal mode, say) joins with one
    /// entry here; saving, restoring and reporting need nothing else.
    public static let all: [ArithmeticSetting] = [
        // OpenBLAS splits a product's work by its thread count, and the split decides the order of
        // the sums: another count rounds every product differently.
        ArithmeticSetting(key: "blas_threads", name: "--blas-threads", current: { String(BLASInfo.threads) },
                          restore: { text in
                              guard let n = Int(text), n >= 1, n <= 4096 else { return false }
                              BLASInfo.setThreads(n)
                              return BLASInfo.threads == n
                          },
                          howToMatch: { "--blas-threads \($0)" }),
        // The kernel family is fixed when OpenBLAS loads (see BLASCoreSelection).
        ArithmeticSetting(key: "blas_kernel", name: "the OpenBLAS kernel", current: { BLASInfo.coreName }, restore: nil,
                          howToMatch: { "OPENBLAS_CORETYPE=\($0) MPIVAE_KEEP_OPENBLAS_CORETYPE=1 in the environment" }),
        // Flushing subnormals changes every result that passes through one. The mode is set before
        // OpenBLAS starts its threads (see SubnormalMode), so it cannot change inside a process.
        ArithmeticSetting(key: "subnormals", name: SubnormalMode.optOutFlag,
                          current: { SubnormalMode.flushedOnThisThread ? "flushed" : "ieee" }, restore: nil,
                          howToMatch: { $0 == "ieee" ? "\(SubnormalMode.optOutFlag) (or \(SubnormalMode.optOutVariable)=1)"
                                                     : "neither \(SubnormalMode.optOutFlag) nor \(SubnormalMode.optOutVariable)" }),
    ]

    /// This process's values, as the JSON object a checkpoint keeps under `metadataKey`.
    public static func currentJSON(_ settings: [ArithmeticSetting] = all) -> String {
        var object: [String: String] = [:]
        for s in settings { object[s.key] = s.current() }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    public static let metadataKey = "arithmetic"

    /// On resume: each saved setting that differs from this process's is restored, unless the
    /// command line chose it (`explicit` holds its key) or it cannot be; those are reported.
    /// Returns the lines to print, one per setting that differed. Settings the checkpoint does not
    /// record (older checkpoints) are left as they are.
    public static func reconcile(savedJSON: String?, explicit: Set<String>, settings: [ArithmeticSetting] = all) -> [String] {
        guard let text = savedJSON,
              let saved = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return [] }
        var lines: [String] = []
        for s in settings {
            guard let value = saved[s.key].map({ "\($0)" }) else { continue }
            let now = s.current()
            guard value != now else { continue }
            if !explicit.contains(s.key), let restore = s.restore, restore(value) {
                lines.append("resuming with the run's \(s.name) \(value) (this process would have used \(now)), so it continues bit for bit")
                continue
            }
            let why = explicit.contains(s.key) ? "as asked" : "which cannot be changed in a running process"
            lines.append("warning: resuming with \(s.name) \(now), \(why); the run was trained with \(value), so it continues with different rounding, not bit for bit (to match, run with \(s.howToMatch(value)))")
        }
        return lines
    }
}
