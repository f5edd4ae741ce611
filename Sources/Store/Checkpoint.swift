import CZlib
import Foundation

/// A named float tensor as stored: shape and row-major values.
public struct NamedArray: Equatable, Sendable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }
}

/// Everything needed to resume a run, in one HDF5 file:
///
///     /            attributes format = "scalekd-checkpoint", format_version, epoch, step,
///                  config (the resolved run config as JSON)
///     /params/<name>     float32, e.g. /params/stages.2.blocks.0.attn.qkv.weight
///     /optimizer/<name>  float32 optimizer state (moments, ...)
///
/// Version 2 adds a `crc32` attribute on /params and /optimizer: the CRC-32 of each
/// tensor's little-endian float bytes, in name order, checked on load (HDF5 checks its own
/// structure, not the values: flipped bytes inside a weight would otherwise load).
public struct Checkpoint: Equatable, Sendable {
    public var parameters: [String: NamedArray]
    public var optimizerState: [String: NamedArray]
    public var epoch: Int
    public var step: Int
    public var configJSON: String

    public static let format = "scalekd-checkpoint"
    public static let formatVersion = 2

    public init(parameters: [String: NamedArray], optimizerState: [String: NamedArray] = [:],
                epoch: Int, step: Int, configJSON: String) {
        self.parameters = parameters
        self.optimizerState = optimizerState
        self.epoch = epoch
        self.step = step
        self.configJSON = configJSON
    }

    /// Writes atomically: `path` holds either its previous content or this checkpoint.
    public func save(to path: String) throws {
        try save(to: path, interrupt: nil)
    }

    /// `interrupt` runs after the parameters are written, before the optimizer state: tests
    /// throw or kill the process from it to crash a write midway.
    public func save(to path: String, interrupt: (() throws -> Void)?) throws {
        try AtomicWrite.write(to: path) { temporary in
            let file = try HDF5File.create(temporary)
            let root = try file.root()
            try root.setAttribute("format", string: Self.format)
            try root.setAttribute("format_version", int: Self.formatVersion)
            try root.setAttribute("epoch", int: epoch)
            try root.setAttribute("step", int: step)
            try root.setAttribute("config", string: configJSON)
            try Self.write(parameters, into: root.createGroup("params"))
            try interrupt?()
            try Self.write(optimizerState, into: root.createGroup("optimizer"))
            try file.close()
        }
    }

    private static func write(_ arrays: [String: NamedArray], into group: HDF5Group) throws {
        for name in arrays.keys { try StoreError.checkName(name, path: group.file.path) }
        let names = arrays.keys.sorted()
        for name in names {
            let array = arrays[name]!
            try group.write(name, shape: array.shape, values: array.values)
        }
        if !names.isEmpty { try group.setAttribute("crc32", values: names.map { Int64(crc32(of: arrays[$0]!.values)) }) }
    }

    /// CRC-32 (zlib's) of the values' bytes.
    static func crc32(of values: [Float]) -> UInt32 {
        values.withUnsafeBytes { raw in
            var crc = CZlib.crc32(0, nil, 0)
            var offset = 0
            // zlib takes a 32-bit length; a tensor may be larger.
            while offset < raw.count {
                let n = min(raw.count - offset, 1 << 30)
                crc = CZlib.crc32(crc, raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(n))
                offset += n
            }
            return UInt32(crc)
        }
    }

    /// Loads a checkpoint; a missing file, a file that is not HDF5, a truncated or corrupt
    /// file, and an HDF5 file that is not a checkpoint each give their own `StoreError`.
    public static func load(from path: String) throws -> Checkpoint {
        let file = try openChecked(path)
        defer { try? file.close() }
        do {
            let root = try file.root()
            try requireFormat(root, path: path)
            for group in ["params", "optimizer"] where !root.contains(group) {
                throw StoreError.notACheckpoint(path: path, reason: "missing group /\(group)")
            }
            return Checkpoint(parameters: try readAll(root.openGroup("params"), path: path),
                              optimizerState: try readAll(root.openGroup("optimizer"), path: path),
                              epoch: try root.intAttribute("epoch"), step: try root.intAttribute("step"),
                              configJSON: try root.stringAttribute("config"))
        } catch let error as StoreError {
            switch error {
            case .notACheckpoint, .missing, .typeMismatch, .shapeMismatch:
                throw error.asNotACheckpoint(path: path)
            case .corruptTensor:
                throw error
            default:
                throw StoreError.truncatedOrCorrupt(path: path, detail: error.description)
            }
        }
    }

    private static func requireFormat(_ root: HDF5Group, path: String) throws {
        guard root.hasAttribute("format") else { throw StoreError.notACheckpoint(path: path, reason: "no `format` attribute on /") }
        let format = try root.stringAttribute("format")
        guard format == Self.format else {
            throw StoreError.notACheckpoint(path: path, reason: "format is \"\(format)\", expected \"\(Self.format)\"")
        }
        let version = try root.intAttribute("format_version")
        guard version <= Self.formatVersion else {
            throw StoreError.notACheckpoint(path: path, reason: "format_version \(version) is newer than this build reads (\(Self.formatVersion))")
        }
    }

    /// Reads every tensor of a group, checking each against its stored CRC-32 (version 2;
    /// version-1 files have none).
    private static func readAll(_ group: HDF5Group, path: String) throws -> [String: NamedArray] {
        var arrays = [String: NamedArray]()
        let names = try group.childNames().sorted()
        for name in names {
            let (shape, values) = try group.read(name, as: Float.self)
            arrays[name] = NamedArray(shape: shape, values: values)
        }
        if group.hasAttribute("crc32") {
            let stored = try group.attribute("crc32", as: Int64.self)
            guard stored.count == names.count else {
                throw StoreError.corruptTensor(path: path, tensor: group.path, detail: "\(stored.count) checksums for \(names.count) tensors")
            }
            for (name, crc) in zip(names, stored) where Int64(crc32(of: arrays[name]!.values)) != crc {
                throw StoreError.corruptTensor(path: path, tensor: "\(group.path)/\(name)".replacingOccurrences(of: "//", with: "/"),
                                               detail: "its values fail the CRC-32 stored when it was written")
            }
        }
        return arrays
    }

    /// Opens `path` read-only, telling apart a missing file, a file that is not HDF5 and a
    /// damaged HDF5 file (HDF5 itself notices truncation: end of file before the stored end).
    static func openChecked(_ path: String) throws -> HDF5File {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.fileNotFound(path: path) }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size > 0 else { throw StoreError.truncatedOrCorrupt(path: path, detail: "file is empty") }
        guard HDF5File.isHDF5(path) else { throw StoreError.notHDF5(path: path) }
        do {
            return try HDF5File.open(path)
        } catch let error as StoreError {
            if case let .hdf5(_, _, _, detail) = error { throw StoreError.truncatedOrCorrupt(path: path, detail: detail) }
            throw error
        }
    }
}

extension StoreError {
    func asNotACheckpoint(path: String) -> StoreError {
        if case .notACheckpoint = self { return self }
        return .notACheckpoint(path: path, reason: description)
    }
}
