import Foundation

extension Tensor {
    public func relu() -> Tensor {
        map("relu", { $0 > 0 ? $0 : 0 }, { x, _ in x > 0 ? 1 : 0 })
    }

    /// GELU, exact erf form (PyTorch's default): x * Phi(x).
    public func gelu() -> Tensor {
        map("gelu", { x in 0.5 * x * (1 + erff(x * 0.70710678118654752)) }, { x, _ in
            let cdf = 0.5 * (1 + erff(x * 0.70710678118654752))
            let pdf = Foundation.exp(-0.5 * x * x) * 0.39894228040143268
            return cdf + x * pdf
        })
    }
}
