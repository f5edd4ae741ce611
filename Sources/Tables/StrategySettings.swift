import Foundation
import Training

/// Table 10's cells: a strategy's settings as text, read from the code so the table cannot drift from it.
extension TrainingStrategy {
    /// One setting as text, for Table 10 (names as in tables/README.md).
    public func setting(_ name: String, plan: ScalePlan?) -> String {
        func f(_ x: Float) -> String { String(format: "%g", x) }
        switch name {
        case "optimizer": return optimizer == .sgd ? "SGD, momentum \(f(momentum))\(nesterov ? ", Nesterov" : "")" : optimizer.rawValue == "adamw" ? "AdamW (0.9, 0.999)" : "LAMB"
        case "learning_rate": return f(learningRate)
        case "weight_decay": return f(weightDecay) + (optimizer == .sgd ? "" : "; none on norms, biases, position embeddings")
        case "schedule": return schedule == .step ? "step x0.1 at \(milestonesFraction.map { String(format: "%.0f%%", 100 * $0) }.joined(separator: ", ")) of training" : "\(schedule.rawValue)\(minLRFraction > 0 ? " to \(f(minLRFraction)) x LR" : "")"
        case "warmup_epochs": return warmupEpochs > 0 ? String(format: "%g (from %g x LR)", warmupEpochs, warmupStartFactor) : "none"
        case "label_smoothing": return labelSmoothing > 0 ? f(labelSmoothing) : "none"
        case "gradient_clip": return gradientClip.map { "global norm \(f($0))" } ?? "none"
        case "augmentation":
            var parts: [String] = []
            if augmentation.cropPadding > 0 { parts.append("random crop (pad \(augmentation.cropPadding))") }
            if augmentation.horizontalFlip { parts.append("flip") }
            if let r = augmentation.randAugment { parts.append("RandAugment (\(r.ops) ops, magnitude \(f(r.magnitude)), std \(f(r.magnitudeStd)))") }
            if augmentation.randomErasing > 0 { parts.append("random erasing \(f(augmentation.randomErasing))") }
            if augmentation.mix != nil { parts.append("Mixup/CutMix") }
            return parts.isEmpty ? "none" : parts.joined(separator: " + ")
        case "batch_size": return plan?.batchSize.map(String.init) ?? "64"
        case "epochs": return plan.map { String($0.epochs) } ?? "?"
        default: return "unknown setting '\(name)'"
        }
    }

}
