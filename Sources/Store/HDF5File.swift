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

    // MARK: helpers (called with the lock held)

    func makeSpace(shape: [Int], maxShape: [Int]?, name: String) throws -> hid_t {
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

    func checkKind<T: HDF5Element>(_ type: hid_t, _: T.Type, object: String) throws {
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
}
