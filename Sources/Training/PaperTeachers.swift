import Datasets
import Foundation
import Models

/// Paper-scale teachers: the weights files given with `--teacher-weights <name>=<file>,...`
/// (timm-named safetensors, e.g. converted from the released checkpoints), each loaded once
/// through `WeightsFile` and frozen in eval mode as every teacher is. A run key names a
/// teacher's weights by the file's SHA-256, so other weights never reuse a cached run.
public final class TeacherWeightFiles: TeacherSource {
    public let files: [String: String]
    private var hashes: [String: String] = [:]
    private var loaded: [String: TeacherModel] = [:]

    public init(files: [String: String]) { self.files = files }

    /// Parses `swin-l=/weights/swin_large.safetensors,beit-l14=/weights/eva_large.safetensors`.
    public convenience init(parsing text: String) throws {
        var files: [String: String] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw InputError("--teacher-weights: '\(item)' is not <teacher>=<file.safetensors>")
            }
            guard files[parts[0]] == nil else { throw InputError("--teacher-weights names \(parts[0]) twice") }
            files[parts[0]] = parts[1]
        }
        self.init(files: files)
    }

    /// The teacher's weights file; an error naming the flag when none was given or the file is not there.
    public func file(of teacher: String) throws -> String {
        guard let path = files[teacher] else {
            let given = files.isEmpty ? "" : " (it names \(files.keys.sorted().joined(separator: ", ")))"
            throw InputError("no weights for teacher \(teacher): add \(teacher)=<file.safetensors> (timm names) to --teacher-weights\(given)")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError("--teacher-weights \(teacher)=\(path): file not found")
        }
        return path
    }

    /// SHA-256 of the teacher's weights file (read once per process).
    public func sha256(of teacher: String) throws -> String {
        if let known = hashes[teacher] { return known }
        let hash = try SHA256.hexDigest(ofFile: file(of: teacher))
        hashes[teacher] = hash
        return hash
    }

    /// The teacher with its file's weights; a tensor of the wrong shape, a missing or an
    /// unexpected one is an error naming it (Timm.load).
    public func teacher(_ name: String) throws -> TeacherModel {
        if let known = loaded[name] { return known }
        let path = try file(of: name)
        let teacher = try TeacherStore.frozenTeacher(name) { try WeightsFile.load(path, into: $0) }
        loaded[name] = teacher
        return teacher
    }
}
