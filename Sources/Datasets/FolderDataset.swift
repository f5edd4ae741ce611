import Foundation

/// A folder of images in the ImageNet layout, root/<class name>/<image files>, for paper
/// scale. It only scans: classes sorted by name get labels 0..<n, files sorted by name
/// within each class. `ImageFolderBatches` decodes and transforms (ImageCodecs.swift).
public struct FolderDataset: Sendable {
    public struct Sample: Equatable, Sendable {
        public var path: String
        public var label: Int
    }

    /// What was found, to record next to a run: class list, counts and the SHA-256 of the
    /// sorted file list ("class/file" lines, each ending in a newline), which changes when
    /// any file is added, removed or renamed (not when its bytes change: hashing 140 GB of
    /// ImageNet on every start would cost longer than a run's first epoch).
    /// An empty class folder keeps its label (so labels match the full dataset's) and is
    /// listed in `emptyClasses`.
    public struct Manifest: Codable, Equatable, Sendable {
        public var root: String
        public var classes: [String]
        public var countPerClass: [Int]
        public var count: Int
        public var fileListSHA256: String
        public var emptyClasses: [String]
    }

    public let root: String
    public let classes: [String]
    public let samples: [Sample]

    public static let defaultExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Scans `root`. Hidden entries are skipped; file extensions match case-insensitively.
    public init(root: String, extensions: Set<String> = FolderDataset.defaultExtensions) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.folder(path: root, reason: "dataset folder does not exist")
        }
        func entries(_ dir: String) throws -> [String] {
            do {
                return try fm.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
            } catch {
                throw DataError.unreadable(path: dir, reason: error.localizedDescription)
            }
        }
        let classes = try entries(root).filter { name in
            var isDir: ObjCBool = false
            return fm.fileExists(atPath: (root as NSString).appendingPathComponent(name), isDirectory: &isDir) && isDir.boolValue
        }
        guard !classes.isEmpty else {
            throw DataError.folder(path: root, reason: "no class folders (expected root/<class name>/<images>)")
        }
        var samples = [Sample]()
        for (label, name) in classes.enumerated() {
            let dir = (root as NSString).appendingPathComponent(name)
            for file in try entries(dir) where extensions.contains((file as NSString).pathExtension.lowercased()) {
                samples.append(Sample(path: (dir as NSString).appendingPathComponent(file), label: label))
            }
        }
        guard !samples.isEmpty else {
            throw DataError.folder(path: root, reason: "no image files with extensions \(extensions.sorted())")
        }
        self.root = root
        self.classes = classes
        self.samples = samples
    }

    public var count: Int { samples.count }

    public var manifest: Manifest {
        var perClass = [Int](repeating: 0, count: classes.count)
        for s in samples { perClass[s.label] += 1 }
        let lines = samples.map { classes[$0.label] + "/" + ($0.path as NSString).lastPathComponent + "\n" }.sorted()
        return Manifest(root: root, classes: classes, countPerClass: perClass, count: samples.count,
                        fileListSHA256: SHA256.hexDigest(lines.joined()),
                        emptyClasses: zip(classes, perClass).filter { $0.1 == 0 }.map(\.0))
    }

    /// The first `perClass` files of each class (a quick look at a large folder).
    public func limited(perClass: Int) -> FolderDataset {
        var seen = [Int](repeating: 0, count: classes.count)
        return FolderDataset(root: root, classes: classes, samples: samples.filter { s in
            seen[s.label] += 1
            return seen[s.label] <= perClass
        })
    }

    private init(root: String, classes: [String], samples: [Sample]) {
        self.root = root
        self.classes = classes
        self.samples = samples
    }

    /// Decodes sample `index` with the caller's decoder (path -> pixels).
    public func image<T>(at index: Int, decode: (String) throws -> T) throws -> T {
        try decode(samples[index].path)
    }

    /// The decoder to use when none is available: throws `decoderNotAvailable`.
    public static func noDecoder(_ path: String) throws -> [Float] {
        throw DataError.decoderNotAvailable(path: path)
    }
}
