import CZlib
import SystemMemory

/// gzip decompression from memory with zlib's `inflate`, so truncated and corrupt streams are
/// reported as errors at the exact point zlib gives up, and tests can feed every prefix of a file
/// without touching the disk.
enum Gzip {
    /// Decompressed output larger than this is refused: a real dataset file this large would not
    /// fit the training process anyway, and a forged stream must not exhaust memory.
    static let maximumOutput = 16 << 30

    static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Decompresses every gzip member in `input`. Anything after the last member that is not
    /// another member is an error.
    ///
    /// `declaredSize` reads the size the decompressed file declares of itself (an IDX header) from
    /// the output so far, nil while too little has come out to tell. Once it is known, that size
    /// must fit this process's memory, and zlib is never asked for more than one byte past it: a
    /// stream that goes on past its header's size is refused after at most that, not after
    /// inflating to whatever it holds.
    static func decompress(_ input: [UInt8], source: String,
                           declaredSize: (([UInt8]) throws -> Int?)? = nil) throws -> [UInt8] {
        guard !input.isEmpty else { throw DataError(source, "empty file") }
        var stream = z_stream()
        // 15 + 16: maximal window, gzip wrapper only (zlib checks the CRC-32 and length trailer).
        guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError(source, "unreadable gzip: zlib could not start (out of memory?)")
        }
        defer { inflateEnd(&stream) }

        var output: [UInt8] = []
        var limit: Int? = nil
        output.reserveCapacity(declaredSize == nil ? sizeHint(input) : 0)
        let chunkSize = 1 << 20
        var chunk = [UInt8](repeating: 0, count: chunkSize)

        try input.withUnsafeBufferPointer { inputBuffer in
            try chunk.withUnsafeMutableBufferPointer { chunkBuffer in
                let base = UnsafeMutablePointer(mutating: inputBuffer.baseAddress!)
                var consumed = 0          // input bytes handed to zlib and used
                var fed = 0               // input bytes handed to zlib so far
                func feed() {
                    // avail_in is 32-bit: hand over at most 1 GiB at a time.
                    let piece = min(inputBuffer.count - fed, 1 << 30)
                    stream.next_in = base + fed
                    stream.avail_in = UInt32(piece)
                    fed += piece
                }
                feed()
                while true {
                    if stream.avail_in == 0 && fed < inputBuffer.count { feed() }
                    // Until the header is out (an IDX header is at most 1,024 bytes), small steps.
                    let room = limit.map { min(chunkSize, $0 + 1 - output.count) } ?? (declaredSize == nil ? chunkSize : 4096)
                    stream.next_out = chunkBuffer.baseAddress!
                    stream.avail_out = UInt32(room)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    let produced = room - Int(stream.avail_out)
                    if produced > 0 {
                        guard output.count <= maximumOutput - produced else {
                            throw DataError(source, "unreadable gzip: decompresses to more than \(maximumOutput) bytes")
                        }
                        output.append(contentsOf: UnsafeBufferPointer(start: chunkBuffer.baseAddress!, count: produced))
                        if limit == nil, let declared = try declaredSize?(output) {
                            if let memory = MemoryLimit.exceeded(by: declared) {
                                throw DataError(source, "its header declares \(declared) bytes (\(MemoryLimit.format(declared))), more than the \(memory.description) this process has left")
                            }
                            limit = declared
                            // Deflate expands at most about 1032x: a larger claim cannot be met.
                            output.reserveCapacity(min(declared, input.count.multipliedReportingOverflow(by: 1032).partialValue))
                        }
                        if let limit, output.count > limit {
                            throw DataError(source, "decompresses past the \(limit) bytes its header declares; the stream goes on after them")
                        }
                    }
                    consumed = fed - Int(stream.avail_in)
                    switch status {
                    case Z_OK:
                        continue
                    case Z_STREAM_END:
                        let rest = inputBuffer.count - consumed
                        if rest == 0 { return }
                        if rest >= 2 && inputBuffer[consumed] == 0x1f && inputBuffer[consumed + 1] == 0x8b {
                            inflateReset(&stream)   // another gzip member follows
                            continue
                        }
                        throw DataError(source, "unreadable gzip: \(rest) bytes of trailing data after the compressed stream ending at byte \(consumed)")
                    case Z_BUF_ERROR where stream.avail_in == 0 && fed == inputBuffer.count:
                        throw DataError(source, "unreadable gzip: compressed stream ends early after \(inputBuffer.count) bytes (truncated file)")
                    case Z_MEM_ERROR:
                        throw DataError(source, "unreadable gzip: out of memory while decompressing")
                    default:
                        let reason = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                        throw DataError(source, "unreadable gzip: \(reason) (at compressed byte \(consumed))")
                    }
                }
            }
        }
        return output
    }

    /// The gzip trailer's ISIZE (length mod 2^32) usually gives the exact size, saving the
    /// reallocations of a growing array. It is only a hint: deflate expands at most about 1032x,
    /// so a larger claim is ignored.
    private static func sizeHint(_ input: [UInt8]) -> Int {
        guard input.count >= 18 else { return 0 }
        let n = input.count
        let isize = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24
        return isize <= n * 1032 ? isize : 0
    }
}
