import CZlib
import Foundation

/// Gzip decompression of a whole in-memory file with zlib's inflate. The caller has
/// already read (and hashed) the bytes, so the file is read only once.
public enum Gzip {
    /// Inflates a gzip member. Throws `notGzip` for a bad header, `truncatedGzip`
    /// when the stream ends early and `corruptGzip` for bad data; `path` names the file.
    public static func decompress(_ compressed: [UInt8], path: String) throws -> [UInt8] {
        guard compressed.count >= 2, compressed[0] == 0x1f, compressed[1] == 0x8b else {
            throw DataError.notGzip(path: path)
        }
        // The trailer's ISIZE (size mod 2^32) is a good first guess for the output size, but
        // a truncated file's last bytes are not a trailer: cap the guess, grow by doubling.
        var capacity = 1 << 16
        if compressed.count >= 18 {
            let n = compressed.count
            let isize = Int(compressed[n - 4]) | Int(compressed[n - 3]) << 8
                | Int(compressed[n - 2]) << 16 | Int(compressed[n - 1]) << 24
            capacity = max(capacity, min(isize + 1, 16 * n))
        }
        var output = [UInt8](repeating: 0, count: capacity)
        var produced = 0
        var stream = z_stream()
        // windowBits 15 + 16: accept the gzip wrapper only.
        guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.corruptGzip(path: path, reason: "inflateInit failed")
        }
        defer { inflateEnd(&stream) }
        var status: Int32 = Z_OK
        try compressed.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = uInt(input.count)
            while true {
                if produced == output.count { output.append(contentsOf: [UInt8](repeating: 0, count: output.count)) }
                status = output.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress! + produced
                    stream.avail_out = uInt(out.count - produced)
                    let r = inflate(&stream, Z_NO_FLUSH)
                    produced = out.count - Int(stream.avail_out)
                    return r
                }
                switch status {
                case Z_STREAM_END:
                    return
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    // No progress possible: either output is full (grow) or input ran out.
                    if stream.avail_in == 0 { throw DataError.truncatedGzip(path: path) }
                case Z_DATA_ERROR:
                    let reason = stream.msg.map { String(cString: $0) } ?? "data error"
                    throw DataError.corruptGzip(path: path, reason: reason)
                default:
                    throw DataError.corruptGzip(path: path, reason: "zlib status \(status)")
                }
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Gzip-compresses bytes (used to build test files and caches).
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 32)
        var input = bytes
        let produced = input.withUnsafeMutableBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { out -> Int in
                stream.next_in = inp.baseAddress
                stream.avail_in = uInt(inp.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                _ = deflate(&stream, Z_FINISH)
                return out.count - Int(stream.avail_out)
            }
        }
        return Array(output[0..<produced])
    }
}
