/// Copies of a few dozen floats, the rows of an image plane and the per-channel blocks of a
/// reshape, done with vector loads and stores inline. Through the library copy each such row is a
/// call of its own, and at 14 to 49 floats a row the call costs about what the copy does.
public enum ShortCopy {
    private typealias U = UnalignedSIMD

    /// dst[0..<count] = src[0..<count]; the two ranges must not overlap. From 8 floats on the last
    /// vector ends at `count` and may overlap the one before it, writing the same values twice.
    @inline(__always)
    public static func copy(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        if count >= 8 && count <= 16 {
            U.store8(U.load8(src), dst)
            U.store8(U.load8(src + count - 8), dst + count - 8)
        } else if count > 16 && count <= 256 {
            var k = 0
            while k + 16 < count {
                U.store16(U.load16(src + k), dst + k)
                k += 16
            }
            U.store16(U.load16(src + count - 16), dst + count - 16)
        } else {
            dst.update(from: src, count: count)
        }
    }
}
