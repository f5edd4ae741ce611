import Foundation

/// Learning rate as a function of the optimizer step, as in mmcls/timm configs.
public struct LRSchedule: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case constant, step, cosine }
    public var kind: Kind
    public var baseLR: Float
    public var totalSteps: Int
    /// Step schedule: multiply by `gamma` at each milestone step.
    public var milestones: [Int] = []
    public var gamma: Float = 0.1
    /// Cosine: floor of the decay.
    public var minLR: Float = 0
    /// Linear warm-up from baseLR * warmupStartFactor over warmupSteps.
    public var warmupSteps: Int = 0
    public var warmupStartFactor: Float = 0

    public init(kind: Kind, baseLR: Float, totalSteps: Int, milestones: [Int] = [], gamma: Float = 0.1,
                minLR: Float = 0, warmupSteps: Int = 0, warmupStartFactor: Float = 0) {
        self.kind = kind; self.baseLR = baseLR; self.totalSteps = totalSteps
        self.milestones = milestones; self.gamma = gamma; self.minLR = minLR
        self.warmupSteps = warmupSteps; self.warmupStartFactor = warmupStartFactor
    }

    public func learningRate(atStep step: Int) -> Float {
        if step < warmupSteps {
            let t = Float(step) / Float(max(warmupSteps, 1))
            return baseLR * (warmupStartFactor + (1 - warmupStartFactor) * t)
        }
        switch kind {
        case .constant:
            return baseLR
        case .step:
            return baseLR * Foundation.pow(gamma, Float(milestones.filter { step >= $0 }.count))
        case .cosine:
            let span = max(totalSteps - warmupSteps, 1)
            let t = min(Float(step - warmupSteps) / Float(span), 1)
            return minLR + (baseLR - minLR) * 0.5 * (1 + Foundation.cos(Float.pi * t))
        }
    }
}
