/// The data section of a file, kept in one 64-byte-aligned allocation so that F32 (and F64)
/// tensors at aligned offsets can be handed out as typed buffers without copying.
final class DataStorage {
    let base: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        self.count = count
        // allocate(byteCount: 0) is legal but gives nothing to point at; keep one byte instead.
        base = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
    }

    deinit { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
