import Foundation

/// Failures of the Store module, each naming the file (and the object inside it).
public enum StoreError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case fileNotFound(path: String)
    case notHDF5(path: String)
    case truncatedOrCorrupt(path: String, detail: String)
    case notACheckpoint(path: String, reason: String)
    case notAFeatureDump(path: String, reason: String)
    case missing(path: String, object: String)
    case typeMismatch(path: String, object: String, expected: String, found: String)
    case shapeMismatch(path: String, object: String, detail: String)
    case hdf5(path: String, operation: String, object: String, detail: String)
    case io(path: String, operation: String, detail: String)
    case invalidName(path: String, name: String)
    case corruptTensor(path: String, tensor: String, detail: String)

    public var description: String {
        switch self {
        case let .fileNotFound(path):
            return "\(path): file not found"
        case let .notHDF5(path):
            return "\(path): not an HDF5 file (no HDF5 signature)"
        case let .truncatedOrCorrupt(path, detail):
            return "\(path): HDF5 file is truncated or corrupt (\(detail))"
        case let .notACheckpoint(path, reason):
            return "\(path): HDF5 file is not a checkpoint: \(reason)"
        case let .notAFeatureDump(path, reason):
            return "\(path): HDF5 file is not a feature dump: \(reason)"
        case let .missing(path, object):
            return "\(path): no \(object)"
        case let .typeMismatch(path, object, expected, found):
            return "\(path): \(object) holds \(found) data, expected \(expected)"
        case let .shapeMismatch(path, object, detail):
            return "\(path): \(object): \(detail)"
        case let .hdf5(path, operation, object, detail):
            return "\(path): HDF5 failed to \(operation) \(object)" + (detail.isEmpty ? "" : " (\(detail))")
        case let .io(path, operation, detail):
            return "\(path): cannot \(operation) (\(detail))"
        case let .corruptTensor(path, tensor, detail):
            return "\(path): tensor \(tensor) is corrupt: \(detail); the file cannot be trusted (delete it to start the run over, or restore it from git)"
        case let .invalidName(path, name):
            return "\(path): name \"\(name)\" cannot be stored (empty, \".\", or contains \"/\", which HDF5 reads as a group path)"
        }
    }

    public var errorDescription: String? { description }
}

extension StoreError {
    /// Tensor and stage names become HDF5 link names: dots are fine, "/" is not.
    static func checkName(_ name: String, path: String) throws {
        if name.isEmpty || name == "." || name.contains("/") { throw StoreError.invalidName(path: path, name: name) }
    }
}
