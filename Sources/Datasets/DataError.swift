import Foundation

/// Everything that can be wrong with a dataset on disk. Each case names the file and
/// says what is wrong, so a user can fix it without reading the loader.
public enum DataError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case packageMissing(directory: String, hint: String)
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case hashMismatch(path: String, expected: String, actual: String)
    case notGzip(path: String)
    case truncatedGzip(path: String)
    case corruptGzip(path: String, reason: String)
    case badMagic(path: String, expected: UInt32, found: UInt32)
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    case trailingBytes(path: String, expectedBytes: Int, actualBytes: Int)
    case unexpectedShape(path: String, expected: [Int], found: [Int])
    case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
    case labelOutOfRange(path: String, index: Int, label: Int, classes: Int)
    case manifest(path: String, reason: String)
    case folder(path: String, reason: String)
    case decoderNotAvailable(path: String)
    case corruptImage(path: String, reason: String)

    public var description: String {
        switch self {
        case let .packageMissing(directory, hint):
            return "dataset directory \(directory) does not exist; install it with \(hint)"
        case let .fileNotFound(path):
            return "\(path): file not found"
        case let .unreadable(path, reason):
            return "\(path): cannot read (\(reason))"
        case let .hashMismatch(path, expected, actual):
            return "\(path): SHA-256 is \(actual) but the manifest expects \(expected); the file is corrupt or a different version"
        case let .notGzip(path):
            return "\(path): not a gzip file (bad gzip header)"
        case let .truncatedGzip(path):
            return "\(path): gzip stream ends early; the file is truncated"
        case let .corruptGzip(path, reason):
            return "\(path): corrupt gzip data (\(reason))"
        case let .badMagic(path, expected, found):
            return "\(path): bad IDX magic number 0x\(String(found, radix: 16)), expected 0x\(String(expected, radix: 16))"
        case let .truncated(path, expected, actual):
            return "\(path): truncated IDX payload: header promises \(expected) bytes, file holds \(actual)"
        case let .trailingBytes(path, expected, actual):
            return "\(path): \(actual - expected) bytes after the IDX data (the header promises \(expected) bytes in all, the file holds \(actual)): two files joined or a damaged download; reinstall the dataset package"
        case let .unexpectedShape(path, expected, found):
            return "\(path): IDX shape \(found) but expected \(expected)"
        case let .countMismatch(imagesPath, images, labelsPath, labels):
            return "\(imagesPath) holds \(images) images but \(labelsPath) holds \(labels) labels"
        case let .labelOutOfRange(path, index, label, classes):
            return "\(path): label \(label) at index \(index) is outside 0..<\(classes)"
        case let .manifest(path, reason):
            return "\(path): bad manifest: \(reason)"
        case let .folder(path, reason):
            return "\(path): \(reason)"
        case let .decoderNotAvailable(path):
            return "\(path): no image decoder available for this file; pass a decoder closure"
        case let .corruptImage(path, reason):
            return "\(path): not a readable image (\(reason)); delete or replace the file"
        }
    }

    public var errorDescription: String? { description }
}
