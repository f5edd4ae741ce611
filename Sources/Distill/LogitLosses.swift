import Foundation
import Tensor

/// Logit-based distillation terms. Teacher logits are constants (computed without grad).
public enum LogitLoss {
    /// Hinton KD as the authors' KDLoss: T^2 * CE(softmax(t/T), softmax(s/T)), mean over the batch
    /// (the weight, 0.5 by default, is applied by the caller).
    public static func kd(student: Tensor, teacher: Tensor, temperature T: Float = 1) -> Tensor {
        let q = withoutGrad { (teacher * (1 / T)).softmax() }
        return (student * (1 / T)).crossEntropy(softTargets: q) * (T * T)
    }

    /// Decoupled KD (Zhao et al., CVPR 2022): alpha * TCKD + beta * NCKD with temperature T.
    /// TCKD: binary KL between (p_target, 1 - p_target) of teacher and student;
    /// NCKD: KL between the non-target class distributions (target logit masked out).
    public static func dkd(student: Tensor, teacher: Tensor, labels: [Int], alpha: Float = 1, beta: Float = 8,
                           temperature T: Float = 4) -> Tensor {
        let (n, c) = (student.shape[0], student.shape[1])
        var onehot = [Float](repeating: 0, count: n * c)
        for (i, l) in labels.enumerated() { onehot[i * c + l] = 1 }
        let gt = Tensor(shape: [n, c], values: onehot), other = 1 - gt
        let ps = (student * (1 / T)).softmax(), pt = withoutGrad { (teacher * (1 / T)).softmax() }
        // Binary distributions [p_target, p_rest].
        let bs = Tensor.concat([(ps * gt).sum(axis: 1, keepDims: true), (ps * other).sum(axis: 1, keepDims: true)], axis: 1)
        let bt = withoutGrad { Tensor.concat([(pt * gt).sum(axis: 1, keepDims: true), (pt * other).sum(axis: 1, keepDims: true)], axis: 1) }
        let tckd = (bt * (bt + 1e-12).log() - bt * (bs + 1e-12).log()).sum() * (T * T / Float(n))
        // Non-target distributions: subtract a large number from the target logit.
        let maskedS = (student * (1 / T)) - gt * 1000, maskedT = withoutGrad { (teacher * (1 / T)) - gt * 1000 }
        let qt = withoutGrad { maskedT.softmax() }
        let nckd = (qt * (qt + 1e-12).log() - qt * maskedS.logSoftmax()).sum() * (T * T / Float(n))
        return tckd * alpha + nckd * beta
    }

    /// DIST (Huang et al., NeurIPS 2022): beta * inter-class + gamma * intra-class relation,
    /// each 1 - Pearson correlation of softmax(logits / T), times T^2.
    public static func dist(student: Tensor, teacher: Tensor, beta: Float = 1, gamma: Float = 1, temperature T: Float = 1) -> Tensor {
        let ys = (student * (1 / T)).softmax(), yt = withoutGrad { (teacher * (1 / T)).softmax() }
        func pearsonLoss(_ a: Tensor, _ b: Tensor) -> Tensor {
            // 1 - mean over rows of the Pearson correlation along the last axis.
            let ac = a - a.mean(axis: -1, keepDims: true), bc = b - b.mean(axis: -1, keepDims: true)
            let num = (ac * bc).sum(axis: -1)
            let den = (ac.squared().sum(axis: -1) * bc.squared().sum(axis: -1) + 1e-16).sqrt()
            return 1 - (num / den).mean()
        }
        let inter = pearsonLoss(ys, yt)
        let intra = pearsonLoss(ys.transposed(0, 1), yt.transposed(0, 1))
        return (inter * beta + intra * gamma) * (T * T)
    }
}
