import CBLAS
import Foundation

/// What OpenBLAS picked at load time, and its thread count.
public enum BLASInfo {
    /// The kernel family OpenBLAS selected ("Haswell", "Cooperlake", ...). On DYNAMIC_ARCH builds it
    /// is chosen when the library loads, from CPUID or the `OPENBLAS_CORETYPE` environment variable.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name).trimmingCharacters(in: .whitespaces)
    }

    /// Build configuration string (version, DYNAMIC_ARCH, threading model).
    public static var config: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text).trimmingCharacters(in: .whitespaces)
    }

    public static var threads: Int { Int(openblas_get_num_threads()) }

    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }

    /// The `OPENBLAS_CORETYPE` this process was started with, if any.
    public static var requestedCoreType: String? { ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] }
}
