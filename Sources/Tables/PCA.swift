import Tensor

/// Principal components by power iteration with deflation on the smaller of the covariance
/// (d x d) and Gram (m x m) matrices, formed with the engine's matmul. Deterministic: a fixed
/// start vector and each component's sign fixed so its largest entry is positive.
public enum PCA {
    public struct Fit {
        /// Mean of the rows [d].
        public var mean: [Double]
        /// Unit principal directions [count][d], largest variance first.
        public var components: [[Double]]
        /// Variance along each component.
        public var variances: [Double]
        /// Total variance (trace of the covariance), for the explained share.
        public var totalVariance: Double
    }

    /// Fits the top `count` components of the rows of `x` [m, d] (row-major).
    public static func fit(_ x: [Float], rows m: Int, columns d: Int, count: Int = 2) -> Fit {
        precondition(x.count == m * d && m > 1 && count <= min(m, d), "PCA: \(x.count) values for \(m) x \(d), \(count) components")
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<m { for j in 0..<d { mean[j] += Double(x[i * d + j]) } }
        for j in 0..<d { mean[j] /= Double(m) }
        var centered = x
        for i in 0..<m { for j in 0..<d { centered[i * d + j] -= Float(mean[j]) } }
        let xc = Tensor(shape: [m, d], values: centered)
        // The smaller side keeps the eigenproblem small; both have the same non-zero eigenvalues.
        let useGram = m < d
        let matrix = withoutGrad { useGram ? xc.matmul(xc, transposeB: true) : xc.matmul(xc, transposeA: true) }
        let k = useGram ? m : d
        var s = matrix.values.map { Double($0) / Double(m) }
        let total = (0..<k).map { s[$0 * k + $0] }.reduce(0, +)
        var components: [[Double]] = [], variances: [Double] = []
        for _ in 0..<count {
            var (vector, value) = dominantEigenpair(s, size: k)
            // Deflate: the next power iteration finds the next component.
            for i in 0..<k { for j in 0..<k { s[i * k + j] -= value * vector[i] * vector[j] } }
            if useGram {
                // Direction in feature space: Xc^T u (then normalised).
                var v = [Double](repeating: 0, count: d)
                for i in 0..<m where vector[i] != 0 { for j in 0..<d { v[j] += vector[i] * Double(centered[i * d + j]) } }
                vector = normalized(v)
            }
            value = max(value, 0)
            let largest = vector.indices.max { abs(vector[$0]) < abs(vector[$1]) } ?? 0
            if vector[largest] < 0 { vector = vector.map { -$0 } }
            components.append(vector)
            variances.append(value)
        }
        return Fit(mean: mean, components: components, variances: variances, totalVariance: total)
    }

    /// Coordinates of the rows of `x` [m, d] on the fitted components: [m][count].
    public static func project(_ x: [Float], rows m: Int, columns d: Int, on fit: Fit) -> [[Double]] {
        (0..<m).map { i in
            fit.components.map { c in (0..<d).reduce(0.0) { $0 + (Double(x[i * d + $1]) - fit.mean[$1]) * c[$1] } }
        }
    }

    static func normalized(_ v: [Double]) -> [Double] {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return n > 0 ? v.map { $0 / n } : v
    }

    /// Largest eigenvalue and its unit eigenvector of a symmetric PSD matrix [size, size].
    static func dominantEigenpair(_ s: [Double], size k: Int, iterations: Int = 5000, tolerance: Double = 1e-11) -> ([Double], Double) {
        // Fixed, non-symmetric start (a uniform one could be orthogonal to the answer).
        var v = normalized((0..<k).map { 1 + Double($0 % 7) / 7 })
        var value = 0.0
        var w = [Double](repeating: 0, count: k)
        s.withUnsafeBufferPointer { ps in
            for _ in 0..<iterations {
                for i in 0..<k {
                    var acc = 0.0
                    for j in 0..<k { acc += ps[i * k + j] * v[j] }
                    w[i] = acc
                }
                value = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
                guard value > 0 else { return }
                var change = 0.0
                for i in 0..<k { w[i] /= value; change += (w[i] - v[i]) * (w[i] - v[i]) }
                swap(&v, &w)
                if change < tolerance { return }
            }
        }
        return (v, value)
    }
}
