import Foundation

/// Picks OpenBLAS's AVX-512 sgemm kernels when the CPU has them but a weaker family was selected.
///
/// OpenBLAS (DYNAMIC_ARCH builds) chooses its kernel family once, when the library loads, from
/// CPUID or the `OPENBLAS_CORETYPE` environment variable. On this machine class (AVX-512 AMD EPYC)
/// the "Haswell" family (AVX2) runs a 1024³ sgemm at ~125 GFLOP/s on one core and "Cooperlake" /
/// "SkylakeX" (AVX-512) at ~235 GFLOP/s; the training step follows (about 17k vs 28k samples/s).
/// Since the choice is fixed before `main` runs, the only in-process remedy is to re-execute the
/// program with the variable set, before MPI is initialized (`ProcessRestart`).
public enum BLASCoreSelection {
    /// Environment variable that disables the switch (any value).
    public static let optOutVariable = "MPIVAE_KEEP_OPENBLAS_CORETYPE"

    /// Kernel families that use AVX-512 for sgemm in OpenBLAS 0.3.x.
    static let avx512Families: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// The AVX-512 family to request for a CPU with `flags` (as in /proc/cpuinfo), when the
    /// currently loaded family `current` is not already one; nil when nothing should change.
    public static func recommendedCoreType(cpuFlags flags: Set<String>, currentCore current: String) -> String? {
        if avx512Families.contains(current.lowercased()) { return nil }
        let needed: Set<String> = ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"]
        guard needed.isSubset(of: flags) else { return nil }
        return flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
    }

    /// CPU feature flags of the first processor in /proc/cpuinfo (empty where unavailable).
    public static func cpuFlags(cpuinfoPath: String = "/proc/cpuinfo") -> Set<String> {
        guard let text = try? String(contentsOfFile: cpuinfoPath, encoding: .utf8) else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    /// The environment a restart needs (`ProcessRestart`) when OpenBLAS loaded a non-AVX-512
    /// kernel family on an AVX-512 CPU: `OPENBLAS_CORETYPE` set to the AVX-512 family. Empty when
    /// `MPIVAE_KEEP_OPENBLAS_CORETYPE` is set, after a restart, or when nothing should change.
    public static func environmentChanges() -> [String: String] {
        if ProcessInfo.processInfo.environment[optOutVariable] != nil || ProcessRestart.restarted { return [:] }
        guard let target = recommendedCoreType(cpuFlags: cpuFlags(), currentCore: BLASInfo.coreName) else { return [:] }
        return ["OPENBLAS_CORETYPE": target]
    }
}
