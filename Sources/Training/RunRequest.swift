import Datasets
import Distill
import Foundation
import Models

/// What `scalekd train` and `scalekd distill` ask for, checked in full before anything
/// trains: a typo gives an error naming the choices, never a run of the defaults.
public struct RunRequest {
    public var model: String
    public var scale: Scale
    public var strategy: String
    public var epochs: Int?
    public var batchSize: Int?
    public var seed: UInt64
    public var method: String
    public var teacher: String?

    public init(model: String, scale: Scale, strategy: String = "advanced", epochs: Int? = nil, batchSize: Int? = nil,
                seed: UInt64 = 0, method: String = "baseline", teacher: String? = nil) {
        self.model = model; self.scale = scale; self.strategy = strategy; self.epochs = epochs
        self.batchSize = batchSize; self.seed = seed; self.method = method; self.teacher = teacher
    }

    public func resolved() throws -> RunConfig {
        let minis = Zoo.presets.filter { $0.scale == .mini }
        guard let preset = Zoo.preset(named: model) else {
            throw InputError("unknown model '\(model)'; models: \(minis.map(\.name).joined(separator: ", ")) (`scalekd models --scale small`)")
        }
        if scale != .paper && preset.scale != .mini {
            throw InputError("'\(model)' is a paper-size preset; at \(scale) scale use a mini one: \(minis.map(\.name).joined(separator: ", "))")
        }
        guard let kind = MethodKind(rawValue: method) else {
            throw InputError("unknown method '\(method)'; methods: \(MethodKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let named = TrainingStrategy.named(strategy) else { throw InputError("unknown strategy '\(strategy)' (traditional or advanced)") }
        // At small scale, without --epochs, the family's recipe (tables/student-recipes.yaml).
        let (s, epochs) = try StudentRecipes.committed().resolve(model: model, strategy: named, epochs: self.epochs,
                                                                 fallbackEpochs: scale.studentEpochs, scale: scale)
        if kind != .baseline {
            guard let teacher else { throw InputError("method \(method) needs --teacher") }
            try RunRequest.checkTeacher(teacher)
        }
        let split = try scale.studentSplit
        let batch = batchSize ?? scale.studentBatchSize
        guard epochs >= 1 else { throw InputError("--epochs must be at least 1 (got \(epochs))") }
        guard batch >= 1 else { throw InputError("--batch-size must be at least 1 (got \(batch))") }
        if let images = split.trainImageCount, batch > images {
            throw InputError("--batch-size \(batch) is larger than the \(images) training images: with the last partial batch dropped, no step would run")
        }
        var method: MethodConfig? = nil
        if kind != .baseline, let teacher {
            method = try TeacherSettings.committed().resolved(MethodConfig(name: kind), teacher: teacher, student: model)
        }
        let distilled = kind == .baseline ? nil : teacher
        return RunConfig(model: model, split: split, strategy: s, epochs: epochs, batchSize: batch, seed: seed,
                         method: method, teacher: distilled, teacherWeights: try distilled.flatMap { try TeacherStore().weightsID($0, scale: scale) },
                         scale: scale)
    }

    /// A teacher must be a teacher preset (it has a last stage to run TPP through).
    public static func checkTeacher(_ name: String) throws {
        let teachers = Zoo.presets.filter { $0.isTeacher && $0.scale == .mini }.map(\.name)
        guard let p = Zoo.preset(named: name) else { throw InputError("unknown teacher '\(name)'; teachers: \(teachers.joined(separator: ", "))") }
        guard p.isTeacher else { throw InputError("'\(name)' cannot be a teacher; teachers: \(teachers.joined(separator: ", "))") }
    }
}

extension DataSplit {
    /// Training images of the split when known without loading the data (10 classes).
    public var trainImageCount: Int? { train == .student ? perClass * 10 : nil }
}
