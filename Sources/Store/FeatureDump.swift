import Foundation

/// Stage features of many samples, for analysis and figures:
///
///     /                  attribute format = "scalekd-feature-dump" (+ caller's attributes)
///     /sample_indices    int64 [N], each row's sample index in its dataset
///     /features/<stage>  float32 [N, C, H, W], chunked by samples, shuffle + deflate
///
/// Written in one go (`FeatureDump.write`) or batch by batch (`FeatureDumpWriter`); both
/// write a temporary file and rename it into place when complete.
public enum FeatureDump {
    public static let format = "scalekd-feature-dump"

    /// Writes all features at once; each stage's shape is [N, C, H, W] with N = indices.count.
    public static func write(to path: String, indices: [Int], stages: [String: NamedArray],
                             attributes: [String: String] = [:], compression: Int = 4) throws {
        let shapes = stages.mapValues { Array($0.shape.dropFirst()) }
        let writer = try FeatureDumpWriter(path: path, stageShapes: shapes, attributes: attributes, compression: compression)
        try writer.append(indices: indices, features: stages.mapValues(\.values))
        try writer.finish()
    }

    public static func read(from path: String) throws -> (indices: [Int], stages: [String: NamedArray]) {
        let (file, root) = try openDump(path)
        defer { try? file.close() }
        let features = try root.openGroup("features")
        var stages = [String: NamedArray]()
        for name in try features.childNames() {
            let (shape, values) = try features.read(name, as: Float.self)
            stages[name] = NamedArray(shape: shape, values: values)
        }
        return (try root.read("sample_indices", as: Int64.self).values.map(Int.init), stages)
    }

    /// Rows `rows` of one stage, without reading the rest of the file.
    public static func readStage(_ stage: String, from path: String, rows: Range<Int>) throws -> NamedArray {
        let (file, root) = try openDump(path)
        defer { try? file.close() }
        let (shape, values) = try root.openGroup("features").readRows(stage, rows: rows, as: Float.self)
        return NamedArray(shape: shape, values: values)
    }

    private static func openDump(_ path: String) throws -> (HDF5File, HDF5Group) {
        let file = try Checkpoint.openChecked(path)
        let root = try file.root()
        guard root.hasAttribute("format"), try root.stringAttribute("format") == format else {
            throw StoreError.notAFeatureDump(path: path, reason: "no format attribute \"\(format)\" on /")
        }
        guard root.contains("features"), root.contains("sample_indices") else {
            throw StoreError.notAFeatureDump(path: path, reason: "missing /features or /sample_indices")
        }
        return (file, root)
    }
}

/// Appends batches of stage features to a dump; `finish()` moves the complete file into
/// place. A writer dropped without `finish()` leaves nothing behind.
public final class FeatureDumpWriter {
    public let path: String
    public let stageShapes: [String: [Int]]
    private let temporaryPath: String
    private var file: HDF5File?
    private var root: HDF5Group?
    private var features: HDF5Group?
    public private(set) var count = 0

    /// `stageShapes` maps stage names to per-sample [C, H, W].
    public init(path: String, stageShapes: [String: [Int]], attributes: [String: String] = [:],
                compression: Int = 4, chunkSamples: Int = 16) throws {
        for stage in stageShapes.keys { try StoreError.checkName(stage, path: path) }
        self.path = path
        self.stageShapes = stageShapes
        let url = URL(fileURLWithPath: path)
        temporaryPath = url.deletingLastPathComponent().path + "/." + url.lastPathComponent + ".partial-\(getpid())-\(UUID().uuidString.prefix(8))"
        let file = try HDF5File.create(temporaryPath)
        do {
            let root = try file.root()
            try root.setAttribute("format", string: FeatureDump.format)
            for (key, value) in attributes.sorted(by: { $0.key < $1.key }) { try root.setAttribute(key, string: value) }
            try root.createAppendable("sample_indices", as: Int64.self, rowShape: [], chunkRows: 1024, compression: compression)
            let features = try root.createGroup("features")
            for (stage, shape) in stageShapes.sorted(by: { $0.key < $1.key }) {
                try features.createAppendable(stage, as: Float.self, rowShape: shape, chunkRows: chunkSamples, compression: compression)
            }
            self.file = file
            self.root = root
            self.features = features
        } catch {
            try? file.close()
            unlink(temporaryPath)
            throw error
        }
    }

    /// Appends one batch: `features[stage]` holds indices.count x C x H x W values.
    public func append(indices: [Int], features batch: [String: [Float]]) throws {
        guard let root, let features else { throw StoreError.io(path: path, operation: "append", detail: "writer is finished") }
        guard Set(batch.keys) == Set(stageShapes.keys) else {
            throw StoreError.shapeMismatch(path: path, object: "/features",
                                           detail: "batch has stages \(batch.keys.sorted()), dump has \(stageShapes.keys.sorted())")
        }
        for (stage, values) in batch where values.count != indices.count * stageShapes[stage]!.reduce(1, *) {
            throw StoreError.shapeMismatch(path: path, object: "/features/\(stage)",
                                           detail: "\(values.count) values for \(indices.count) samples of \(stageShapes[stage]!)")
        }
        try root.append("sample_indices", values: indices.map(Int64.init))
        for stage in batch.keys.sorted() { try features.append(stage, values: batch[stage]!) }
        count += indices.count
    }

    /// Closes the file and renames it to `path`.
    public func finish() throws {
        guard let file else { return }
        features = nil
        root = nil
        self.file = nil
        do {
            try file.close()
            try AtomicWrite.write(to: path) { temporary in
                guard rename(temporaryPath, temporary) == 0 else {
                    throw StoreError.io(path: path, operation: "move finished dump", detail: String(cString: strerror(errno)))
                }
            }
        } catch {
            unlink(temporaryPath)
            throw error
        }
    }

    deinit {
        if let file {
            try? file.close()
            unlink(temporaryPath)
        }
    }
}
