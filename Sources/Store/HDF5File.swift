import CHDF5
import Foundation

/// An open HDF5 file. Objects opened from it keep it alive; `close()` (or deinit) closes
/// everything still open in it (H5F_CLOSE_STRONG), so a closed file is really released.
public final class HDF5File {
    public let path: String
    let id: hid_t
    private var isOpen = true

    /// The HDF5 library this process runs with, e.g. "1.10.8".
    public static var libraryVersion: String {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        guard H5get_libversion(&major, &minor, &release) >= 0 else { return "unknown" }
        return "\(major).\(minor).\(release)"
    }

    private init(path: String, id: hid_t) {
        self.path = path
        self.id = id
    }

    private static func fileAccessList() -> hid_t {
        let fapl = H5Pcreate(H5P_CLS_FILE_ACCESS_ID_g)
        _ = H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG)
        // The 1.8 format stores attributes over 64 KB (long JSON configs) densely.
        _ = H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V110)
        return fapl
    }

    /// Creates (or truncates) a file for writing.
    public static func create(_ path: String) throws -> HDF5File {
        try HDF5Library.locked {
            let fapl = fileAccessList()
            defer { _ = H5Pclose(fapl) }
            let id = H5Fcreate(path, 0x0002 /* H5F_ACC_TRUNC */, hid_t(0), fapl)
            guard id >= 0 else { throw StoreError.hdf5(path: path, operation: "create file", object: "/", detail: HDF5Library.errorStackText()) }
            return HDF5File(path: path, id: id)
        }
    }

    /// Opens an existing file, read-only unless `writable`.
    public static func open(_ path: String, writable: Bool = false) throws -> HDF5File {
        try HDF5Library.locked {
            guard FileManager.default.fileExists(atPath: path) else { throw StoreError.fileNotFound(path: path) }
            let fapl = fileAccessList()
            defer { _ = H5Pclose(fapl) }
            let id = H5Fopen(path, writable ? 0x0001 : 0x0000 /* H5F_ACC_RDWR : H5F_ACC_RDONLY */, fapl)
            guard id >= 0 else { throw StoreError.hdf5(path: path, operation: "open file", object: "/", detail: HDF5Library.errorStackText()) }
            return HDF5File(path: path, id: id)
        }
    }

    /// Whether `path` starts with the HDF5 signature (false for a missing or foreign file).
    public static func isHDF5(_ path: String) -> Bool {
        HDF5Library.locked {
            let r = H5Fis_hdf5(path)
            _ = H5Eclear2(hid_t(0))
            return r > 0
        }
    }

    /// The root group "/".
    public func root() throws -> HDF5Group { try HDF5Group.open(in: self, at: hid_t(id), name: "/", path: "/") }

    public func flush() throws {
        try HDF5Library.locked {
            guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else {
                throw StoreError.hdf5(path: path, operation: "flush", object: "/", detail: HDF5Library.errorStackText())
            }
        }
    }

    public func close() throws {
        try HDF5Library.locked {
            guard isOpen else { return }
            isOpen = false
            guard H5Fclose(id) >= 0 else {
                throw StoreError.hdf5(path: path, operation: "close file", object: "/", detail: HDF5Library.errorStackText())
            }
        }
    }

    deinit { try? close() }
}
