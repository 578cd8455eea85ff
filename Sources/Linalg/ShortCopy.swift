/// Copies of a few dozen floats, the rows of an image plane and the per-channel blocks of a
/// reshape, done with vector loads and stores inline. Through the library copy each such row is a
/// call of its own, and at 14 to 49 floats a row the call costs about what the copy does.
public enum ShortCopy {
    /// dst[0..<count] = src[0..<count]; the two ranges must not overlap. From 8 floats on the last
    /// vector ends at `count` and may overlap the one before it, writing the same values twice.
    @inline(__always)
    public static func copy(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        if count >= 8 && count <= 16 {
            store8(load8(src), dst)
            store8(load8(src + count - 8), dst + count - 8)
        } else if count > 16 && count <= 256 {
            var k = 0
            while k + 16 < count {
                store16(load16(src + k), dst + k)
                k += 16
            }
            store16(load16(src + count - 16), dst + count - 16)
        } else {
            dst.update(from: src, count: count)
        }
    }

    @inline(__always) static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always) static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always) static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    @inline(__always) static func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }
}
