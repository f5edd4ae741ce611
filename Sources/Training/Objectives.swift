import Distill
import Foundation
import Models
import NN
import Tensor

/// Builds a model preset with a seed, failing clearly for unknown names.
public func buildModel(_ name: String, seed: UInt64) throws -> ImageClassifier {
    guard let p = Zoo.preset(named: name) else { throw TrainingError.unknownModel(name) }
    var rng = RandomGenerator(seed: seed, stream: 0x5EED)
    return p.build(&rng)
}

/// Where a run's teacher comes from (TeacherProvider: the committed store, or ci's quick teachers).
public protocol TeacherSource {
    func teacher(_ name: String) throws -> TeacherModel
}

/// Turns a run config into its objective (plain or distilled), loading the teacher.
public func makeObjective(for config: RunConfig, teacherLoader: (String) throws -> TeacherModel) throws -> TrainingObjective {
    let student = try buildModel(config.model, seed: config.seed)
    guard let method = config.method, method.name != .baseline else {
        return SupervisedObjective(student: student, labelSmoothing: config.strategy.labelSmoothing)
    }
    let kind = method.name
    guard let teacherName = config.teacher else { throw ExperimentError.teacherMissing("(none)", "the method needs a teacher") }
    let teacher = try teacherLoader(teacherName)
    var rng = RandomGenerator(seed: config.seed, stream: 0xD157)
    return Distiller(teacher: teacher, student: student, kind: kind, options: ScaleKDOptions(method),
                     labelSmoothing: config.strategy.labelSmoothing, rng: &rng)
}

extension ScaleKDOptions {
    /// The method's options with a run's settings applied (unset ones keep the defaults).
    public init(_ m: MethodConfig) {
        self.init()
        let f = m.flags, o = m.options
        if let v = f.cap { cap = v }
        if let v = f.dfm { dfm = v }
        if let v = f.tpp { tpp = v }
        if let v = f.kd { kd = v }
        if let v = f.teacherTrain { teacherMode = v ? .train : .eval }
        if let v = o.alphaSpatial { alphaSpatial = [Float(v), Float(v)] }
        if let v = o.alphaFrequency { alphaFrequency = [Float(v), Float(v)] }
        if let b = o.beta { setBeta(Float(b), lambda: Float(o.lambda ?? 0.14)) }
        if let v = o.alphaSpatialS3 { alphaSpatial[0] = Float(v) }
        if let v = o.alphaSpatialS4 { alphaSpatial[1] = Float(v) }
        if let v = o.alphaFrequencyS3 { alphaFrequency[0] = Float(v) }
        if let v = o.alphaFrequencyS4 { alphaFrequency[1] = Float(v) }
        if let v = o.kdWeight { kdWeight = Float(v) }
        if let v = o.kdTemperature { kdTemperature = Float(v) }
        if let v = o.softmaxScale { softmaxScale = Float(v) }
        if let h3 = o.headsS3 { heads[0] = h3 }
        if let h4 = o.headsS4 { heads[1] = h4 }
        stages = ((f.stage3 ?? true) ? [3] : []) + ((f.stage4 ?? true) ? [4] : [])
    }
}

extension RunConfig {
    /// The run as configured, in one line for the outputs: strategy, epochs and learning
    /// rate, and for ScaleKD the effective settings (defaults, teacher settings and the
    /// spec's own, resolved), per stage as stage 3 / stage 4.
    public var configuredSummary: String {
        var parts = ["\(strategy.name), \(epochs) epochs, lr \(String(format: "%g", strategy.learningRate))"]
        if let folders = split.folders {  // paper scale: the global batch, and a smoke run's limit
            parts[0] += ", \(strategy.optimizer.rawValue), batch \(batchSize)" + (folders.limitPerClass.map { ", first \($0) images per class" } ?? "")
        }
        guard let m = method, m.name != .baseline else { return parts.joined(separator: "; ") }
        guard m.name == .scalekd else { return (parts + [m.name.rawValue]).joined(separator: "; ") }
        let o = ScaleKDOptions(m)
        func pair<T>(_ v: [T]) -> String { v.map { "\($0)" }.joined(separator: "/") }
        var views: [String] = []
        if o.cap { views.append("CAP") }
        if o.dfm { views.append("DFM") }
        if o.tpp { views.append("TPP") }
        parts.append("ScaleKD \(views.isEmpty ? "no components" : views.joined(separator: "+")) at stages \(pair(o.stages))")
        parts.append("heads \(pair(o.heads)), α spatial \(pair(o.alphaSpatial.map { String(format: "%g", $0) })), α frequency \(pair(o.alphaFrequency.map { String(format: "%g", $0) }))")
        parts.append("softmax scale \(String(format: "%g", o.softmaxScale)), KD \(o.kd ? String(format: "weight %g, T %g", o.kdWeight, o.kdTemperature) : "off"), teacher in \(o.teacherMode == .train ? "train" : "eval") mode")
        return parts.joined(separator: "; ")
    }
}

