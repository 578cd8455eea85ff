import CZlib
@testable import Explain

/// An independent PNG reader used only to check the writer: validates the signature, every
/// chunk's CRC, the zlib stream and the row filters, and returns the pixels.
struct DecodedPNG {
    let width: Int
    let height: Int
    let channels: Int
    let pixels: [UInt8]
    let chunkTypes: [String]
}

struct PNGDecodeError: Error, CustomStringConvertible { let description: String }

enum PNGDecoder {
    static func decode(_ bytes: [UInt8]) throws -> DecodedPNG {
        let sig: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]
        guard bytes.count >= 8, Array(bytes[0..<8]) == sig else { throw PNGDecodeError(description: "bad signature") }
        var pos = 8
        var types: [String] = []
        var width = 0, height = 0, channels = 0
        var idat: [UInt8] = []
        var sawEnd = false
        func u32(_ p: Int) -> UInt32 {
            UInt32(bytes[p]) << 24 | UInt32(bytes[p + 1]) << 16 | UInt32(bytes[p + 2]) << 8 | UInt32(bytes[p + 3])
        }
        while pos < bytes.count {
            guard pos + 12 <= bytes.count else { throw PNGDecodeError(description: "truncated chunk header at \(pos)") }
            let length = Int(u32(pos))
            guard pos + 12 + length <= bytes.count else { throw PNGDecodeError(description: "truncated chunk at \(pos)") }
            let typeBytes = Array(bytes[(pos + 4)..<(pos + 8)])
            let type = String(decoding: typeBytes, as: UTF8.self)
            let data = Array(bytes[(pos + 8)..<(pos + 8 + length)])
            let stored = u32(pos + 8 + length)
            let crcInput = typeBytes + data
            let computed = UInt32(crcInput.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) })
            guard stored == computed else { throw PNGDecodeError(description: "CRC mismatch in \(type)") }
            types.append(type)
            switch type {
            case "IHDR":
                guard types.count == 1, length == 13 else { throw PNGDecodeError(description: "IHDR misplaced or wrong size") }
                width = Int(u32(pos + 8)); height = Int(u32(pos + 12))
                guard data[8] == 8 else { throw PNGDecodeError(description: "bit depth \(data[8])") }
                switch data[9] {
                case 0: channels = 1
                case 2: channels = 3
                default: throw PNGDecodeError(description: "colour type \(data[9])")
                }
                guard data[10] == 0, data[11] == 0, data[12] == 0 else { throw PNGDecodeError(description: "unsupported method") }
            case "IDAT": idat += data
            case "IEND": sawEnd = true
            default: break
            }
            pos += 12 + length
            if sawEnd { break }
        }
        guard sawEnd, pos == bytes.count else { throw PNGDecodeError(description: "missing IEND or trailing bytes") }
        guard width > 0, height > 0, channels > 0 else { throw PNGDecodeError(description: "no IHDR") }
        let rowBytes = width * channels
        let expected = height * (rowBytes + 1)
        var raw = [UInt8](repeating: 0, count: expected + 1)
        var rawLength = uLongf(raw.count)
        let status = raw.withUnsafeMutableBufferPointer { dst in
            idat.withUnsafeBufferPointer { src in uncompress(dst.baseAddress, &rawLength, src.baseAddress, uLong(src.count)) }
        }
        guard status == Z_OK else { throw PNGDecodeError(description: "zlib status \(status)") }
        guard Int(rawLength) == expected else { throw PNGDecodeError(description: "inflated \(rawLength) bytes, expected \(expected)") }
        var out = [UInt8](repeating: 0, count: height * rowBytes)
        let bpp = channels
        for y in 0..<height {
            let filter = raw[y * (rowBytes + 1)]
            for i in 0..<rowBytes {
                let x = raw[y * (rowBytes + 1) + 1 + i]
                let a = i >= bpp ? out[y * rowBytes + i - bpp] : 0
                let b = y > 0 ? out[(y - 1) * rowBytes + i] : 0
                let c = (i >= bpp && y > 0) ? out[(y - 1) * rowBytes + i - bpp] : 0
                let predicted: UInt8
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = UInt8((Int(a) + Int(b)) / 2)
                case 4:
                    let p = Int(a) + Int(b) - Int(c)
                    let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
                    predicted = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                default: throw PNGDecodeError(description: "filter type \(filter) in row \(y)")
                }
                out[y * rowBytes + i] = x &+ predicted
            }
        }
        return DecodedPNG(width: width, height: height, channels: channels, pixels: out, chunkTypes: types)
    }
}
