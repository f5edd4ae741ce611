import Foundation

/// An unsigned-byte IDX array (the MNIST file format): big-endian magic 0x0000_08NN
/// where NN is the number of dimensions, then NN big-endian UInt32 sizes, then the bytes.
public struct IDXArray: Sendable {
    public var shape: [Int]
    public var bytes: [UInt8]

    public static func magic(dimensions: Int) -> UInt32 { 0x0000_0800 | UInt32(dimensions) }

    /// Parses a decompressed IDX file of `dimensions` dimensions; `path` names it in errors.
    public static func parse(_ data: [UInt8], dimensions: Int, path: String) throws -> IDXArray {
        let headerBytes = 4 + 4 * dimensions
        func word(_ at: Int) -> UInt32 {
            UInt32(data[at]) << 24 | UInt32(data[at + 1]) << 16 | UInt32(data[at + 2]) << 8 | UInt32(data[at + 3])
        }
        guard data.count >= 4 else { throw DataError.truncated(path: path, expectedBytes: headerBytes, actualBytes: data.count) }
        let expected = magic(dimensions: dimensions)
        guard word(0) == expected else { throw DataError.badMagic(path: path, expected: expected, found: word(0)) }
        guard data.count >= headerBytes else {
            throw DataError.truncated(path: path, expectedBytes: headerBytes, actualBytes: data.count)
        }
        let shape = (0..<dimensions).map { Int(word(4 + 4 * $0)) }
        let payload = shape.reduce(1, *)
        guard data.count >= headerBytes + payload else {
            throw DataError.truncated(path: path, expectedBytes: headerBytes + payload, actualBytes: data.count)
        }
        guard data.count == headerBytes + payload else {
            throw DataError.trailingBytes(path: path, expectedBytes: headerBytes + payload, actualBytes: data.count)
        }
        return IDXArray(shape: shape, bytes: Array(data[headerBytes..<(headerBytes + payload)]))
    }

    /// Serializes to IDX (used by tests to build synthetic files).
    public func encoded() -> [UInt8] {
        var out = [UInt8]()
        func put(_ w: UInt32) { for s in [24, 16, 8, 0] { out.append(UInt8(truncatingIfNeeded: w >> UInt32(s))) } }
        put(Self.magic(dimensions: shape.count))
        shape.forEach { put(UInt32($0)) }
        out.append(contentsOf: bytes)
        return out
    }
}
