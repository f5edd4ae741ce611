import CHDF5
import Foundation

/// Global HDF5 state. The Debian serial library is not thread-safe, so every call into it
/// goes through one lock; its own error printing is turned off once, and failures become
/// `StoreError`s carrying the library's error-stack text instead.
enum HDF5Library {
    static let lock = NSRecursiveLock()

    private static let initialized: Bool = {
        _ = H5open()
        _ = H5Eset_auto2(hid_t(0), nil, nil)  // H5E_DEFAULT: no printing to stderr
        return true
    }()

    static func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        _ = initialized
        return try body()
    }

    /// The current error stack as one line (innermost message last), then cleared.
    static func errorStackText() -> String {
        var messages = [String]()
        withUnsafeMutablePointer(to: &messages) { pointer in
            _ = H5Ewalk2(hid_t(0), H5E_WALK_DOWNWARD, { _, error, data in
                let messages = data!.assumingMemoryBound(to: [String].self)
                if let error, let desc = error.pointee.desc {
                    let function = error.pointee.func_name.map { String(cString: $0) } ?? "?"
                    messages.pointee.append("\(function): \(String(cString: desc))")
                }
                return 0
            }, pointer)
        }
        _ = H5Eclear2(hid_t(0))
        return messages.joined(separator: "; ")
    }
}

/// Element types a dataset or attribute can hold, with their native HDF5 types.
public protocol HDF5Element {
    static var hdf5Type: hid_t { get }
    static var typeName: String { get }
    static var isFloatingPoint: Bool { get }
    static var zero: Self { get }
}

extension Float: HDF5Element {
    public static var hdf5Type: hid_t { HDF5Library.locked { H5T_NATIVE_FLOAT_g } }
    public static let typeName = "float32"
    public static let isFloatingPoint = true
    public static let zero: Float = 0
}

extension Double: HDF5Element {
    public static var hdf5Type: hid_t { HDF5Library.locked { H5T_NATIVE_DOUBLE_g } }
    public static let typeName = "float64"
    public static let isFloatingPoint = true
    public static let zero: Double = 0
}

extension Int64: HDF5Element {
    public static var hdf5Type: hid_t { HDF5Library.locked { H5T_NATIVE_INT64_g } }
    public static let typeName = "int64"
    public static let isFloatingPoint = false
    public static let zero: Int64 = 0
}

extension UInt64: HDF5Element {
    public static var hdf5Type: hid_t { HDF5Library.locked { H5T_NATIVE_UINT64_g } }
    public static let typeName = "uint64"
    public static let isFloatingPoint = false
    public static let zero: UInt64 = 0
}

extension UInt8: HDF5Element {
    public static var hdf5Type: hid_t { HDF5Library.locked { H5T_NATIVE_UINT8_g } }
    public static let typeName = "uint8"
    public static let isFloatingPoint = false
    public static let zero: UInt8 = 0
}
