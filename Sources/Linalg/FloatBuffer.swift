import Foundation

/// An owned, 64-byte aligned, zero-initialised block of `Float`s.
///
/// Arenas and workspaces are allocated once and then handed around as raw buffer pointers, so the
/// hot loops never touch Swift arrays (no copy-on-write checks, no retain/release per access).
/// 64-byte alignment matches an AVX-512 vector and a cache line.
public final class FloatBuffer {
    public let count: Int
    public let buffer: UnsafeMutableBufferPointer<Float>

    public init(count: Int) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        // Rounded up to whole cache lines so vector tails never straddle into foreign memory.
        let rounded = (bytes + 63) & ~63
        // Swift's allocate traps with a backtrace when malloc fails; the sizes are checked against
        // the memory left before they are asked for, so a failure here is one line and an exit.
        var allocated: UnsafeMutableRawPointer?
        guard posix_memalign(&allocated, 64, rounded) == 0, let raw = allocated else {
            let line = "error: out of memory: could not allocate \(rounded) bytes for a buffer of \(count) floats\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
            exit(1)
        }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: rounded)
        let typed = raw.bindMemory(to: Float.self, capacity: rounded / MemoryLayout<Float>.stride)
        buffer = UnsafeMutableBufferPointer(start: typed, count: count)
        owner = nil
    }

    /// Memory that something else allocated and keeps alive (`owner`), such as a segment of
    /// memory shared between processes; it is not freed here. `start` must be 64-byte aligned.
    public init(borrowing start: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        precondition(Int(bitPattern: start) % 64 == 0, "FloatBuffer: borrowed memory is not 64-byte aligned")
        self.count = count
        buffer = UnsafeMutableBufferPointer(start: start, count: count)
        self.owner = owner
    }

    /// Set for borrowed memory, which stays allocated as long as its owner.
    private let owner: AnyObject?

    public var pointer: UnsafeMutablePointer<Float> { buffer.baseAddress! }

    deinit {
        if owner == nil { free(UnsafeMutableRawPointer(buffer.baseAddress!)) }
    }
}
