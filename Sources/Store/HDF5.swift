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

/// An open HDF5 file. Objects opened from it keep it alive; `close()` (or deinit) closes
/// everything still open in it (H5F_CLOSE_STRONG), so a closed file is really released.
public final class HDF5File {
    public let path: String
    let id: hid_t
    private var isOpen = true

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

/// A group: holds datasets, subgroups and attributes. Dataset names may contain dots
/// ("stages.2.blocks.0.attn.qkv.weight"); "/" separates groups as usual in HDF5.
public final class HDF5Group {
    public let file: HDF5File  // keeps the file open while the group is used
    public let path: String
    let id: hid_t

    private init(file: HDF5File, id: hid_t, path: String) {
        self.file = file
        self.id = id
        self.path = path
    }

    static func open(in file: HDF5File, at location: hid_t, name: String, path: String) throws -> HDF5Group {
        try HDF5Library.locked {
            let id = H5Gopen2(location, name, hid_t(0))
            guard id >= 0 else { throw StoreError.missing(path: file.path, object: path) }
            return HDF5Group(file: file, id: id, path: path)
        }
    }

    deinit {
        HDF5Library.locked {
            // The file's strong close may already have closed this id.
            if H5Iis_valid(id) > 0 { _ = H5Gclose(id) }
            _ = H5Eclear2(hid_t(0))
        }
    }

    func child(_ name: String) -> String { path == "/" ? "/" + name : path + "/" + name }

    func failure(_ operation: String, _ name: String) -> StoreError {
        .hdf5(path: file.path, operation: operation, object: child(name), detail: HDF5Library.errorStackText())
    }

    // MARK: groups and links

    public func createGroup(_ name: String) throws -> HDF5Group {
        try HDF5Library.locked {
            let gid = H5Gcreate2(id, name, hid_t(0), hid_t(0), hid_t(0))
            guard gid >= 0 else { throw failure("create group", name) }
            return HDF5Group(file: file, id: gid, path: child(name))
        }
    }

    public func openGroup(_ name: String) throws -> HDF5Group {
        try Self.open(in: file, at: id, name: name, path: child(name))
    }

    /// Whether a link (dataset or group) `name` exists directly in this group.
    public func contains(_ name: String) -> Bool {
        HDF5Library.locked {
            let r = H5Lexists(id, name, hid_t(0))
            _ = H5Eclear2(hid_t(0))
            return r > 0
        }
    }

    /// Names of the links in this group, in name order.
    public func childNames() throws -> [String] {
        try HDF5Library.locked {
            var info = H5G_info_t()
            guard H5Gget_info(id, &info) >= 0 else { throw failure("list", ".") }
            var names = [String]()
            for i in 0..<info.nlinks {
                let length = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, hid_t(0))
                guard length >= 0 else { throw failure("list", ".") }
                var buffer = [CChar](repeating: 0, count: Int(length) + 1)
                _ = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buffer, buffer.count, hid_t(0))
                names.append(String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            return names
        }
    }

    // MARK: datasets

    /// Writes a whole dataset of `shape` (row-major values; [] is a scalar). With `chunks`,
    /// the dataset is chunked and, with `compression` 1-9, deflate-compressed after a byte
    /// shuffle (which helps floats compress).
    public func write<T: HDF5Element>(_ name: String, shape: [Int], values: [T], chunks: [Int]? = nil,
                                      compression: Int? = nil) throws {
        guard shape.reduce(1, *) == values.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw StoreError.shapeMismatch(path: file.path, object: child(name),
                                           detail: "shape \(shape) holds \(shape.reduce(1, *)) values, given \(values.count)")
        }
        try HDF5Library.locked {
            let space = try makeSpace(shape: shape, maxShape: nil, name: name)
            defer { _ = H5Sclose(space) }
            let dcpl = try makeCreationList(shape: shape, chunks: chunks, compression: compression, name: name)
            defer { _ = H5Pclose(dcpl) }
            let dset = H5Dcreate2(id, name, T.hdf5Type, space, hid_t(0), dcpl, hid_t(0))
            guard dset >= 0 else { throw failure("create dataset", name) }
            defer { _ = H5Dclose(dset) }
            if values.isEmpty { return }
            let status = values.withUnsafeBytes { H5Dwrite(dset, T.hdf5Type, hid_t(0), hid_t(0), hid_t(0), $0.baseAddress) }
            guard status >= 0 else { throw failure("write dataset", name) }
        }
    }

    /// Reads a whole dataset, converting within its kind (e.g. float64 to Float); reading
    /// an integer dataset as floats or the reverse is a `typeMismatch`.
    public func read<T: HDF5Element>(_ name: String, as type: T.Type = T.self) throws -> (shape: [Int], values: [T]) {
        try HDF5Library.locked {
            let dset = try openDataset(name, expecting: T.self)
            defer { _ = H5Dclose(dset) }
            let shape = try datasetShape(dset, name: name)
            var values = [T](repeating: T.zero, count: shape.reduce(1, *))
            if values.isEmpty { return (shape, values) }
            let status = values.withUnsafeMutableBytes { H5Dread(dset, T.hdf5Type, hid_t(0), hid_t(0), hid_t(0), $0.baseAddress) }
            guard status >= 0 else { throw failure("read dataset", name) }
            return (shape, values)
        }
    }

    public func shape(of name: String) throws -> [Int] {
        try HDF5Library.locked {
            let dset = H5Dopen2(id, name, hid_t(0))
            guard dset >= 0 else { throw StoreError.missing(path: file.path, object: child(name)) }
            defer { _ = H5Dclose(dset) }
            return try datasetShape(dset, name: name)
        }
    }

    /// Creates an empty dataset of rows of `rowShape`, growable along the first axis,
    /// chunked by `chunkRows` rows and optionally compressed; fill it with `append`.
    public func createAppendable<T: HDF5Element>(_ name: String, as type: T.Type, rowShape: [Int], chunkRows: Int = 64,
                                                 compression: Int? = 4) throws {
        try HDF5Library.locked {
            let space = try makeSpace(shape: [0] + rowShape, maxShape: [-1] + rowShape, name: name)
            defer { _ = H5Sclose(space) }
            let dcpl = try makeCreationList(shape: [max(chunkRows, 1)] + rowShape, chunks: [max(chunkRows, 1)] + rowShape,
                                            compression: compression, name: name)
            defer { _ = H5Pclose(dcpl) }
            let dset = H5Dcreate2(id, name, T.hdf5Type, space, hid_t(0), dcpl, hid_t(0))
            guard dset >= 0 else { throw failure("create dataset", name) }
            _ = H5Dclose(dset)
        }
    }

    /// Appends `values` (whole rows) to a dataset made by `createAppendable`.
    public func append<T: HDF5Element>(_ name: String, values: [T]) throws {
        try HDF5Library.locked {
            let dset = try openDataset(name, expecting: T.self)
            defer { _ = H5Dclose(dset) }
            let shape = try datasetShape(dset, name: name)
            let rowSize = shape.dropFirst().reduce(1, *)
            guard rowSize > 0, values.count % rowSize == 0 else {
                throw StoreError.shapeMismatch(path: file.path, object: child(name),
                                               detail: "\(values.count) values are not whole rows of \(Array(shape.dropFirst()))")
            }
            let rows = values.count / rowSize
            if rows == 0 { return }
            var newShape = shape.map { hsize_t($0) }
            newShape[0] += hsize_t(rows)
            guard H5Dset_extent(dset, newShape) >= 0 else { throw failure("extend dataset", name) }
            let fileSpace = H5Dget_space(dset)
            defer { _ = H5Sclose(fileSpace) }
            var start = [hsize_t](repeating: 0, count: shape.count)
            start[0] = hsize_t(shape[0])
            var count = newShape
            count[0] = hsize_t(rows)
            guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, count, nil) >= 0 else { throw failure("select rows", name) }
            let memSpace = H5Screate_simple(Int32(count.count), count, nil)
            defer { _ = H5Sclose(memSpace) }
            let status = values.withUnsafeBytes { H5Dwrite(dset, T.hdf5Type, memSpace, fileSpace, hid_t(0), $0.baseAddress) }
            guard status >= 0 else { throw failure("append to dataset", name) }
        }
    }

    /// Reads rows `rows` (along the first axis) of a dataset.
    public func readRows<T: HDF5Element>(_ name: String, rows: Range<Int>, as type: T.Type = T.self) throws -> (shape: [Int], values: [T]) {
        try HDF5Library.locked {
            let dset = try openDataset(name, expecting: T.self)
            defer { _ = H5Dclose(dset) }
            let shape = try datasetShape(dset, name: name)
            guard !shape.isEmpty, rows.lowerBound >= 0, rows.upperBound <= shape[0] else {
                throw StoreError.shapeMismatch(path: file.path, object: child(name), detail: "rows \(rows) outside shape \(shape)")
            }
            var outShape = shape
            outShape[0] = rows.count
            var values = [T](repeating: T.zero, count: outShape.reduce(1, *))
            if values.isEmpty { return (outShape, values) }
            let fileSpace = H5Dget_space(dset)
            defer { _ = H5Sclose(fileSpace) }
            var start = [hsize_t](repeating: 0, count: shape.count)
            start[0] = hsize_t(rows.lowerBound)
            let count = outShape.map { hsize_t($0) }
            guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, count, nil) >= 0 else { throw failure("select rows", name) }
            let memSpace = H5Screate_simple(Int32(count.count), count, nil)
            defer { _ = H5Sclose(memSpace) }
            let status = values.withUnsafeMutableBytes { H5Dread(dset, T.hdf5Type, memSpace, fileSpace, hid_t(0), $0.baseAddress) }
            guard status >= 0 else { throw failure("read rows", name) }
            return (outShape, values)
        }
    }

    // MARK: attributes

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

    // MARK: helpers (called with the lock held)

    private func makeSpace(shape: [Int], maxShape: [Int]?, name: String) throws -> hid_t {
        let space: hid_t
        if shape.isEmpty {
            space = H5Screate(H5S_SCALAR)
        } else {
            let dims = shape.map { hsize_t($0) }
            // -1 in maxShape means unlimited (H5S_UNLIMITED is all ones).
            let maxDims = maxShape?.map { $0 < 0 ? hsize_t.max : hsize_t($0) }
            space = H5Screate_simple(Int32(dims.count), dims, maxDims)
        }
        guard space >= 0 else { throw failure("create dataspace", name) }
        return space
    }

    private func makeCreationList(shape: [Int], chunks: [Int]?, compression: Int?, name: String) throws -> hid_t {
        let dcpl = H5Pcreate(H5P_CLS_DATASET_CREATE_ID_g)
        guard dcpl >= 0 else { throw failure("create property list", name) }
        // Chunk sizes are clamped to the (non-empty) shape, as HDF5 requires for fixed dims.
        if let chunks, chunks.count == shape.count, !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) {
            let dims = zip(chunks, shape).map { hsize_t(max(1, min($0, $1))) }
            guard H5Pset_chunk(dcpl, Int32(dims.count), dims) >= 0 else {
                _ = H5Pclose(dcpl)
                throw failure("set chunking", name)
            }
            if let level = compression, level > 0 {
                _ = H5Pset_shuffle(dcpl)
                guard H5Pset_deflate(dcpl, UInt32(min(level, 9))) >= 0 else {
                    _ = H5Pclose(dcpl)
                    throw failure("set compression", name)
                }
            }
        }
        return dcpl
    }

    private func openDataset<T: HDF5Element>(_ name: String, expecting: T.Type) throws -> hid_t {
        guard H5Lexists(id, name, hid_t(0)) > 0 else {
            _ = H5Eclear2(hid_t(0))
            throw StoreError.missing(path: file.path, object: child(name))
        }
        let dset = H5Dopen2(id, name, hid_t(0))
        guard dset >= 0 else { throw failure("open dataset", name) }
        let type = H5Dget_type(dset)
        defer { _ = H5Tclose(type) }
        do {
            try checkKind(type, T.self, object: child(name))
        } catch {
            _ = H5Dclose(dset)
            throw error
        }
        return dset
    }

    private func checkKind<T: HDF5Element>(_ type: hid_t, _: T.Type, object: String) throws {
        let cls = H5Tget_class(type)
        let ok = T.isFloatingPoint ? cls == H5T_FLOAT : cls == H5T_INTEGER
        guard ok else {
            let found = cls == H5T_FLOAT ? "float" : cls == H5T_INTEGER ? "integer" : cls == H5T_STRING ? "string" : "class \(cls.rawValue)"
            throw StoreError.typeMismatch(path: file.path, object: object, expected: T.typeName, found: found)
        }
    }

    private func datasetShape(_ dset: hid_t, name: String) throws -> [Int] {
        let space = H5Dget_space(dset)
        guard space >= 0 else { throw failure("get dataspace", name) }
        defer { _ = H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0 else { throw failure("get rank", name) }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        if rank > 0 { _ = H5Sget_simple_extent_dims(space, &dims, nil) }
        return dims.map { Int($0) }
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
