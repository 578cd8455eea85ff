import CZlib
import Foundation

/// Minimal PNG encoder: 8-bit greyscale or RGB, one IDAT chunk compressed by zlib.
public enum PNGWriter {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func encode(_ image: RasterImage) throws -> [UInt8] {
        let rowBytes = image.width * image.channels
        // Every row carries a filter-type byte; "Up" (2) is chosen per image rows after the
        // first because neighbouring rows of tiled pictures are often equal, which compresses
        // far better than no filter at the same cost.
        var filtered = [UInt8](repeating: 0, count: image.height * (rowBytes + 1))
        image.pixels.withUnsafeBufferPointer { src in
            filtered.withUnsafeMutableBufferPointer { dst in
                for y in 0..<image.height {
                    let o = y * (rowBytes + 1)
                    let s = y * rowBytes
                    if y == 0 {
                        dst[o] = 0
                        for i in 0..<rowBytes { dst[o + 1 + i] = src[s + i] }
                    } else {
                        dst[o] = 2
                        for i in 0..<rowBytes { dst[o + 1 + i] = src[s + i] &- src[s - rowBytes + i] }
                    }
                }
            }
        }
        let compressed = try deflate(filtered)

        var out = signature
        var header = [UInt8]()
        header += bigEndian(UInt32(image.width))
        header += bigEndian(UInt32(image.height))
        header += [8, image.channels == 1 ? 0 : 2, 0, 0, 0]  // depth, colour type, compression, filter, interlace
        appendChunk("IHDR", header, to: &out)
        appendChunk("IDAT", compressed, to: &out)
        appendChunk("IEND", [], to: &out)
        return out
    }

    public static func write(_ image: RasterImage, to path: String) throws {
        try FileOutput.write(try encode(image), to: path)
    }

    static func deflate(_ bytes: [UInt8]) throws -> [UInt8] {
        var bound = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(bound))
        let status = out.withUnsafeMutableBufferPointer { dst in
            bytes.withUnsafeBufferPointer { src in
                compress2(dst.baseAddress, &bound, src.baseAddress, uLong(src.count), 6)
            }
        }
        guard status == Z_OK else { throw ExplainError("png: zlib compress2 failed with status \(status)") }
        out.removeSubrange(Int(bound)...)
        return out
    }

    static func appendChunk(_ type: String, _ data: [UInt8], to out: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        out += bigEndian(UInt32(data.count))
        out += typeBytes
        out += data
        var crc = typeBytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        crc = data.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
        out += bigEndian(UInt32(crc))
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }
}
