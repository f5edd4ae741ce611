import Distill
import Foundation

/// A distillation method as a run uses it: the method (a closed set) and its switches and
/// weights, typed, under the key names the table specs use. Unset (nil) fields take the
/// method's defaults, so only what a spec writes enters the run key.
public struct MethodConfig: Codable, Equatable, Sendable {
    public var name: MethodKind
    public var options: MethodOptions
    public var flags: MethodFlags

    public init(name: MethodKind, options: MethodOptions = .init(), flags: MethodFlags = .init()) {
        self.name = name; self.options = options; self.flags = flags
    }
}

/// ScaleKD's switches (a spec's `flags:`); nil = on.
public struct MethodFlags: Codable, Equatable, Sendable {
    /// Cross Attention Projector (off: FD-style 1x1-conv alignment on the same grid).
    public var cap: Bool?
    /// Dual-view Feature Mimicking (the frequency view and its projector).
    public var dfm: Bool?
    /// Teacher Parameter Perception (stage 3 through the teacher's frozen stage 4).
    public var tpp: Bool?
    /// Logit KD term.
    public var kd: Bool?
    /// Which student stages are distilled.
    public var stage3: Bool?
    public var stage4: Bool?
    /// The teacher in train mode (its stochastic depth active in targets, logits and the TPP
    /// pass), as the released training loop effectively runs it; off: eval mode.
    public var teacherTrain: Bool?

    public init(cap: Bool? = nil, dfm: Bool? = nil, tpp: Bool? = nil, kd: Bool? = nil, stage3: Bool? = nil, stage4: Bool? = nil,
                teacherTrain: Bool? = nil) {
        self.cap = cap; self.dfm = dfm; self.tpp = tpp; self.kd = kd; self.stage3 = stage3; self.stage4 = stage4
        self.teacherTrain = teacherTrain
    }

    public static let keys = CodingKeys.allCases.map(\.rawValue)
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case cap, dfm, tpp, kd, stage3, stage4, teacherTrain = "teacher_train"
    }
}

/// A method's weights and sizes (a spec's `options:`); nil = the method's default.
public struct MethodOptions: Codable, Equatable, Sendable {
    /// Weights of DFM's spatial and frequency views on both stages, then per stage.
    public var alphaSpatial: Double?
    public var alphaFrequency: Double?
    public var alphaSpatialS3: Double?
    public var alphaSpatialS4: Double?
    public var alphaFrequencyS3: Double?
    public var alphaFrequencyS4: Double?
    /// Figure 4's beta (share of the spatial view) with overall weight lambda (default 0.14).
    public var beta: Double?
    public var lambda: Double?
    /// Logit KD weight a (CE is scaled by 1 - a) and temperature.
    public var kdWeight: Double?
    public var kdTemperature: Double?
    /// CAP's extra attention temperature s.
    public var softmaxScale: Double?
    /// CAP heads per stage.
    public var headsS3: Int?
    public var headsS4: Int?

    public init(alphaSpatial: Double? = nil, alphaFrequency: Double? = nil, beta: Double? = nil, lambda: Double? = nil,
                kdWeight: Double? = nil, kdTemperature: Double? = nil, softmaxScale: Double? = nil,
                headsS3: Int? = nil, headsS4: Int? = nil) {
        self.alphaSpatial = alphaSpatial; self.alphaFrequency = alphaFrequency; self.beta = beta; self.lambda = lambda
        self.kdWeight = kdWeight; self.kdTemperature = kdTemperature; self.softmaxScale = softmaxScale
        self.headsS3 = headsS3; self.headsS4 = headsS4
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case alphaSpatial = "alpha_spatial", alphaFrequency = "alpha_frequency", beta, lambda
        case alphaSpatialS3 = "alpha_spatial_s3", alphaSpatialS4 = "alpha_spatial_s4"
        case alphaFrequencyS3 = "alpha_frequency_s3", alphaFrequencyS4 = "alpha_frequency_s4"
        case kdWeight = "kd_weight", kdTemperature = "kd_temperature", softmaxScale = "softmax_scale"
        case headsS3 = "heads_s3", headsS4 = "heads_s4"
    }

    public static let keys = CodingKeys.allCases.map(\.rawValue)

    /// An option's value by its spec name (figures plot runs against one, e.g. beta).
    public func value(named key: String) -> Double? {
        switch CodingKeys(rawValue: key) {
        case .alphaSpatial: return alphaSpatial
        case .alphaFrequency: return alphaFrequency
        case .alphaSpatialS3: return alphaSpatialS3
        case .alphaSpatialS4: return alphaSpatialS4
        case .alphaFrequencyS3: return alphaFrequencyS3
        case .alphaFrequencyS4: return alphaFrequencyS4
        case .beta: return beta
        case .lambda: return lambda
        case .kdWeight: return kdWeight
        case .kdTemperature: return kdTemperature
        case .softmaxScale: return softmaxScale
        case .headsS3: return headsS3.map(Double.init)
        case .headsS4: return headsS4.map(Double.init)
        case nil: return nil
        }
    }

    /// Range checks, one message per bad value.
    public func problems() -> [String] {
        var out: [String] = []
        for (k, v) in [("alpha_spatial", alphaSpatial), ("alpha_frequency", alphaFrequency), ("alpha_spatial_s3", alphaSpatialS3),
                       ("alpha_spatial_s4", alphaSpatialS4), ("alpha_frequency_s3", alphaFrequencyS3),
                       ("alpha_frequency_s4", alphaFrequencyS4), ("lambda", lambda),
                       ("kd_temperature", kdTemperature), ("softmax_scale", softmaxScale)] {
            if let v, !(v.isFinite && v >= 0) { out.append("\(k) must be a finite number >= 0 (got \(v))") }
        }
        if let b = beta, !(0...1).contains(b) { out.append("beta must be in [0, 1] (got \(b))") }
        if let a = kdWeight, !(0...1).contains(a) { out.append("kd_weight must be in [0, 1] (got \(a))") }
        if let t = kdTemperature, t == 0 { out.append("kd_temperature must be > 0") }
        for (k, h) in [("heads_s3", headsS3), ("heads_s4", headsS4)] { if let h, h < 1 { out.append("\(k) must be >= 1 (got \(h))") } }
        return out
    }
}
