import Distill
import Foundation
import Yams

/// The ScaleKD settings that vary by teacher and by pair (tables/teacher-settings.yaml):
/// CAP heads per stage, per-stage view weights, softmax scale and the KD switch, from the
/// authors' released configs for the paper teachers and by the file's stated rule for the
/// mini ones. A run's own options override them.
public struct TeacherSettings: Codable {
    public struct Setting: Codable, Equatable {
        public var headsS3: Int?
        public var headsS4: Int?
        public var alphaSpatialS3: Double?
        public var alphaSpatialS4: Double?
        public var alphaFrequencyS3: Double?
        public var alphaFrequencyS4: Double?
        public var softmaxScale: Double?
        public var kd: Bool?

        enum CodingKeys: String, CodingKey {
            case headsS3 = "heads_s3", headsS4 = "heads_s4", alphaSpatialS3 = "alpha_spatial_s3", alphaSpatialS4 = "alpha_spatial_s4"
            case alphaFrequencyS3 = "alpha_frequency_s3", alphaFrequencyS4 = "alpha_frequency_s4", softmaxScale = "softmax_scale", kd
        }

        /// `other`'s values where it has them, ours elsewhere.
        func overlaid(by other: Setting) -> Setting {
            Setting(headsS3: other.headsS3 ?? headsS3, headsS4: other.headsS4 ?? headsS4,
                    alphaSpatialS3: other.alphaSpatialS3 ?? alphaSpatialS3, alphaSpatialS4: other.alphaSpatialS4 ?? alphaSpatialS4,
                    alphaFrequencyS3: other.alphaFrequencyS3 ?? alphaFrequencyS3, alphaFrequencyS4: other.alphaFrequencyS4 ?? alphaFrequencyS4,
                    softmaxScale: other.softmaxScale ?? softmaxScale, kd: other.kd ?? kd)
        }
    }

    /// One paper name or several (a mini student standing in for /16 and /14 students).
    public struct Names: Codable, Equatable {
        public var names: [String]
        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let one = try? c.decode(String.self) { names = [one] } else { names = try c.decode([String].self) }
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            if names.count == 1 { try c.encode(names[0]) } else { try c.encode(names) }
        }
    }

    public struct Minis: Codable {
        public var teachers: [String: String]
        public var students: [String: Names]
        public var heads: [String: [Int]]
    }

    public var teachers: [String: Setting]
    public var pairs: [String: Setting]
    public var minis: Minis

    public static let fileName = "tables/teacher-settings.yaml"

    public static func load(from path: String) throws -> TeacherSettings {
        let s = try StrictYAML.load(TeacherSettings.self, from: path, what: "the teacher settings")
        for (mini, paper) in s.minis.teachers where s.teachers[paper] == nil {
            throw SpecError(file: path, line: nil, message: "mini teacher \(mini) maps to \(paper), which has no settings")
        }
        for (mini, h) in s.minis.heads where h.count != 2 || h.contains(where: { $0 < 1 }) {
            throw SpecError(file: path, line: nil, message: "heads of \(mini) must be two positive counts (stage 3, stage 4)")
        }
        return s
    }

    /// The committed file, found from the current directory upwards (loaded once).
    public static func committed() throws -> TeacherSettings {
        if let s = cache.value { return s }
        guard let path = StrictYAML.locate(fileName) else {
            throw SpecError(file: fileName, line: nil, message: "not found from \(FileManager.default.currentDirectoryPath) upwards; run from the repository")
        }
        let s = try load(from: path)
        cache.value = s
        return s
    }

    private final class Cache: @unchecked Sendable { var value: TeacherSettings? }
    private static let cache = Cache()

    /// The settings of a (teacher, student) pair: the teacher's, then its pair's; for a
    /// mini teacher, those of its paper teacher and pair with its own CAP heads.
    public func setting(teacher: String, student: String) -> Setting? {
        let paperTeacher = minis.teachers[teacher] ?? teacher
        guard var s = teachers[paperTeacher] else { return nil }
        let paperStudents = minis.students[student]?.names ?? [student]
        if let pair = paperStudents.lazy.compactMap({ self.pairs["\(paperTeacher)/\($0)"] }).first { s = s.overlaid(by: pair) }
        if minis.teachers[teacher] != nil {
            let h = minis.heads[teacher]
            s.headsS3 = h?[0]; s.headsS4 = h?[1]
        }
        return s
    }

    /// A ScaleKD method with the pair's settings filled in where the run sets nothing. The
    /// per-stage weights come in only when the run sets no weight at all (alpha_spatial,
    /// alpha_frequency, beta or a per-stage one): a run's own weights replace them whole.
    public func resolved(_ method: MethodConfig, teacher: String, student: String) -> MethodConfig {
        guard method.name == .scalekd, let s = setting(teacher: teacher, student: student) else { return method }
        var m = method
        let o = m.options
        let setsWeights = [o.alphaSpatial, o.alphaFrequency, o.beta, o.alphaSpatialS3, o.alphaSpatialS4,
                           o.alphaFrequencyS3, o.alphaFrequencyS4].contains { $0 != nil }
        if !setsWeights {
            m.options.alphaSpatialS3 = s.alphaSpatialS3; m.options.alphaSpatialS4 = s.alphaSpatialS4
            m.options.alphaFrequencyS3 = s.alphaFrequencyS3; m.options.alphaFrequencyS4 = s.alphaFrequencyS4
        }
        if o.headsS3 == nil { m.options.headsS3 = s.headsS3 }
        if o.headsS4 == nil { m.options.headsS4 = s.headsS4 }
        if o.softmaxScale == nil { m.options.softmaxScale = s.softmaxScale }
        if m.flags.kd == nil { m.flags.kd = s.kd }
        return m
    }
}
