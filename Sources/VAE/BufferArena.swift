/// Keeps alive the buffers behind raw pointers that a holder stores instead of the buffers
/// themselves, so its hot loops read a pointer field and never go through a class reference.
struct BufferArena {
    private var buffers: [FloatBuffer] = []

    /// A zeroed buffer of `count` floats that lives as long as this arena (or a copy of it).
    mutating func make(_ count: Int) -> UnsafeMutablePointer<Float> {
        let buffer = FloatBuffer(count: count)
        buffers.append(buffer)
        return buffer.pointer
    }
}
