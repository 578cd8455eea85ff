import CFloatEnvironment
import Foundation

/// Whether floats below the smallest normal (about 1.18e-38) are flushed to zero.
///
/// The default flushes, on every thread that computes: the executable's start-up hook (in
/// CFloatEnvironment) sets the mode before OpenBLAS creates its threads, which inherit it.
/// `MPIVAE_IEEE_SUBNORMALS=1` in the environment keeps IEEE subnormals instead; since the hook
/// runs before `main`, the `--ieee-subnormals` flag takes effect by re-executing the tool with
/// that variable set (`environmentChanges(arguments:)`, applied by `ProcessRestart`).
public enum SubnormalMode {
    public static let optOutVariable = "MPIVAE_IEEE_SUBNORMALS"
    public static let optOutFlag = "--ieee-subnormals"

    /// The calling thread's mode.
    public static var flushedOnThisThread: Bool { mpivae_subnormals_flushed() }

    /// What this process was started with: true when the opt-out variable asks for IEEE
    /// subnormals (any value but empty or "0", as the start-up hook reads it).
    public static var ieeeRequested: Bool {
        guard let value = ProcessInfo.processInfo.environment[optOutVariable] else { return false }
        return !(value.isEmpty || value == "0")
    }

    /// Whether the start-up hook ran in this executable (it exists where executables have a
    /// .preinit_array: ELF platforms).
    public static var startupHookRan: Bool { mpivae_startup_flush_state() >= 0 }

    /// The environment a re-executed tool needs for `arguments`: the opt-out variable when the
    /// flag is among them (before a `--`) and this process does not already keep subnormals.
    public static func environmentChanges(arguments: [String]) -> [String: String] {
        let options = arguments.dropFirst().prefix { $0 != "--" }
        guard options.contains(optOutFlag), !ieeeRequested else { return [:] }
        return [optOutVariable: "1"]
    }

    /// One line for logs and `mpivae info`.
    public static var description: String {
        flushedOnThisThread
            ? "flushed to zero (values below 1.18e-38 become 0; \(optOutFlag) or \(optOutVariable)=1 keeps them)"
            : "kept (IEEE 754 subnormals)"
    }

    @inline(__always)
    public static func isSubnormal(_ x: Float) -> Bool {
        // By bit pattern: with denormals-are-zero set, a float comparison would read a
        // subnormal as 0 and miss it.
        let bits = x.bitPattern
        return bits & 0x7f80_0000 == 0 && bits & 0x007f_ffff != 0
    }

    /// How many of `count` floats at `values` are subnormal.
    public static func count(_ values: UnsafePointer<Float>, _ count: Int) -> Int {
        var n = 0
        for i in 0..<count where isSubnormal(values[i]) { n += 1 }
        return n
    }

    public static func count(_ values: UnsafeBufferPointer<Float>) -> Int {
        guard let base = values.baseAddress else { return 0 }
        return count(base, values.count)
    }
}
