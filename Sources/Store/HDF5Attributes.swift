import CHDF5
import Foundation

/// Attributes: strings (JSON configs, format tags) and numbers on groups.
extension HDF5Group {
    public func hasAttribute(_ name: String) -> Bool {
        HDF5Library.locked {
            let r = H5Aexists(id, name)
            _ = H5Eclear2(hid_t(0))
            return r > 0
        }
    }

    /// Sets a UTF-8 string attribute (fixed length, as h5dump and h5py read it).
    public func setAttribute(_ name: String, string: String) throws {
        try HDF5Library.locked {
            let bytes = Array(string.utf8)
            let type = H5Tcopy(H5T_C_S1_g)
            defer { _ = H5Tclose(type) }
            _ = H5Tset_size(type, max(bytes.count, 1))
            _ = H5Tset_strpad(type, H5T_STR_NULLPAD)
            _ = H5Tset_cset(type, H5T_CSET_UTF8)
            let space = H5Screate(H5S_SCALAR)
            defer { _ = H5Sclose(space) }
            let attr = try createAttribute(name, type: type, space: space)
            defer { _ = H5Aclose(attr) }
            let padded = bytes.isEmpty ? [UInt8(0)] : bytes
            guard padded.withUnsafeBytes({ H5Awrite(attr, type, $0.baseAddress) }) >= 0 else { throw failure("write attribute", name) }
        }
    }

    /// Reads a string attribute, fixed-length or variable-length (h5py's default).
    public func stringAttribute(_ name: String) throws -> String {
        try HDF5Library.locked {
            let attr = try openAttribute(name)
            defer { _ = H5Aclose(attr) }
            let type = H5Aget_type(attr)
            defer { _ = H5Tclose(type) }
            guard H5Tget_class(type) == H5T_STRING else {
                throw StoreError.typeMismatch(path: file.path, object: child("@" + name), expected: "string", found: "non-string")
            }
            if H5Tis_variable_str(type) > 0 {
                let memType = H5Tcopy(H5T_C_S1_g)
                defer { _ = H5Tclose(memType) }
                _ = H5Tset_size(memType, -1)  // H5T_VARIABLE, i.e. SIZE_MAX
                _ = H5Tset_cset(memType, H5Tget_cset(type))
                var pointer: UnsafeMutablePointer<CChar>?
                guard H5Aread(attr, memType, &pointer) >= 0 else { throw failure("read attribute", name) }
                defer { if let pointer { _ = H5free_memory(pointer) } }
                return pointer.map { String(cString: $0) } ?? ""
            }
            let size = H5Tget_size(type)
            var buffer = [UInt8](repeating: 0, count: size + 1)
            guard buffer.withUnsafeMutableBytes({ H5Aread(attr, type, $0.baseAddress) }) >= 0 else { throw failure("read attribute", name) }
            var end = buffer.firstIndex(of: 0) ?? size
            if H5Tget_strpad(type) == H5T_STR_SPACEPAD { while end > 0 && buffer[end - 1] == 0x20 { end -= 1 } }
            return String(decoding: buffer[..<end], as: UTF8.self)
        }
    }

    /// Sets a numeric attribute: a scalar for one value, else a 1-D array.
    public func setAttribute<T: HDF5Element>(_ name: String, values: [T]) throws {
        try HDF5Library.locked {
            let space = try makeSpace(shape: values.count == 1 ? [] : [values.count], maxShape: nil, name: name)
            defer { _ = H5Sclose(space) }
            let attr = try createAttribute(name, type: T.hdf5Type, space: space)
            defer { _ = H5Aclose(attr) }
            if values.isEmpty { return }
            guard values.withUnsafeBytes({ H5Awrite(attr, T.hdf5Type, $0.baseAddress) }) >= 0 else { throw failure("write attribute", name) }
        }
    }

    public func setAttribute(_ name: String, int: Int) throws { try setAttribute(name, values: [Int64(int)]) }
    public func setAttribute(_ name: String, double: Double) throws { try setAttribute(name, values: [double]) }

    public func attribute<T: HDF5Element>(_ name: String, as type: T.Type = T.self) throws -> [T] {
        try HDF5Library.locked {
            let attr = try openAttribute(name)
            defer { _ = H5Aclose(attr) }
            let fileType = H5Aget_type(attr)
            defer { _ = H5Tclose(fileType) }
            try checkKind(fileType, T.self, object: child("@" + name))
            let space = H5Aget_space(attr)
            defer { _ = H5Sclose(space) }
            let count = Int(H5Sget_simple_extent_npoints(space))
            var values = [T](repeating: T.zero, count: max(count, 0))
            if values.isEmpty { return values }
            guard values.withUnsafeMutableBytes({ H5Aread(attr, T.hdf5Type, $0.baseAddress) }) >= 0 else { throw failure("read attribute", name) }
            return values
        }
    }

    public func intAttribute(_ name: String) throws -> Int {
        let v = try attribute(name, as: Int64.self)
        guard v.count == 1 else { throw StoreError.shapeMismatch(path: file.path, object: child("@" + name), detail: "expected one value, found \(v.count)") }
        return Int(v[0])
    }

    public func doubleAttribute(_ name: String) throws -> Double {
        let v = try attribute(name, as: Double.self)
        guard v.count == 1 else { throw StoreError.shapeMismatch(path: file.path, object: child("@" + name), detail: "expected one value, found \(v.count)") }
        return v[0]
    }

    private func createAttribute(_ name: String, type: hid_t, space: hid_t) throws -> hid_t {
        if H5Aexists(id, name) > 0 { _ = H5Adelete(id, name) }  // overwrite, e.g. an updated step
        let attr = H5Acreate2(id, name, type, space, hid_t(0), hid_t(0))
        guard attr >= 0 else { throw failure("create attribute", name) }
        return attr
    }

    private func openAttribute(_ name: String) throws -> hid_t {
        guard H5Aexists(id, name) > 0 else {
            _ = H5Eclear2(hid_t(0))
            throw StoreError.missing(path: file.path, object: child("@" + name))
        }
        let attr = H5Aopen(id, name, hid_t(0))
        guard attr >= 0 else { throw failure("open attribute", name) }
        return attr
    }
}
