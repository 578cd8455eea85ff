/// The locality weight of a perturbation: LIME's exponential kernel pi(z) = exp(-d(z)^2 / w^2) on
/// the cosine distance d between the mask z and the all-ones mask of the unperturbed sample. With
/// k of M segments kept, cos = k / sqrt(k M) = sqrt(k / M), so d = 1 - sqrt(k / M): 0 for the sample
/// itself, 1 when everything is replaced, about 0.29 for a typical mask keeping half. The default
/// width 0.25 is that of the reference implementation for images; it weighs a half-kept mask
/// about 0.26 and one keeping a quarter about 0.01, so the fit describes the neighbourhood of the
/// sample rather than the whole cube of masks.
public struct LIMEKernel: Equatable {
    public let width: Double

    public static let defaultWidth = 0.25

    public init(width: Double = LIMEKernel.defaultWidth) { self.width = width }

    public static func distance(kept: Int, of segments: Int) -> Double {
        guard segments > 0, kept > 0 else { return 1 }
        return 1 - (Double(kept) / Double(segments)).squareRoot()
    }

    public func weight(distance d: Double) -> Double {
        _expDouble(-(d * d) / (width * width))
    }

    /// The weight of a mask row (`segments` values, 1 kept and 0 replaced).
    public func weight(mask: UnsafePointer<Float>, segments: Int) -> Double {
        var kept = 0
        for j in 0..<segments where mask[j] != 0 { kept += 1 }
        return weight(distance: Self.distance(kept: kept, of: segments))
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func _expDouble(_ x: Double) -> Double { Glibc.exp(x) }
#else
import Darwin
@inline(__always) func _expDouble(_ x: Double) -> Double { Darwin.exp(x) }
#endif
