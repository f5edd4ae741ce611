import Foundation

/// The tests behind the claims' verdicts: a one-sided paired t-test over seeds and Holm's
/// step-down correction when a claim makes several comparisons.
public enum Statistics {
    /// One-sided paired t-test of "a > b" over seeds (a[i] and b[i] share seed i, so the same
    /// initialisation, batch order and augmentation). Returns the p-value, nil below 2 pairs.
    /// With zero spread of the differences, p is 0 for a positive mean difference and 1 otherwise.
    public static func pairedOneSidedP(_ a: [Double], _ b: [Double]) -> Double? {
        let n = min(a.count, b.count)
        guard n >= 2 else { return nil }
        let d = (0..<n).map { a[$0] - b[$0] }
        let mean = d.reduce(0, +) / Double(n)
        let variance = d.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)
        guard variance > 0 else { return mean > 0 ? 0 : 1 }
        let t = mean / (variance / Double(n)).squareRoot()
        return 1 - studentTCDF(t, degreesOfFreedom: Double(n - 1))
    }

    /// P(T <= t) for Student's t with `df` degrees of freedom.
    public static func studentTCDF(_ t: Double, degreesOfFreedom df: Double) -> Double {
        let x = df / (df + t * t)
        let tail = 0.5 * regularizedIncompleteBeta(x, a: df / 2, b: 0.5)
        return t > 0 ? 1 - tail : tail
    }

    /// I_x(a, b) by its continued fraction (Lentz's method), using the symmetry
    /// I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges slowly.
    public static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logBeta: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let front = exp(logBeta + logPowers)
        if x > (a + 1) / (a + b + 2) { return 1 - regularizedIncompleteBeta(1 - x, a: b, b: a) }
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var f = d
        for m in 1...300 {
            let m = Double(m)
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + even * d; if abs(d) < tiny { d = tiny }
            c = 1 + even / c; if abs(c) < tiny { c = tiny }
            d = 1 / d; f *= c * d
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + odd * d; if abs(d) < tiny { d = tiny }
            c = 1 + odd / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = c * d
            f *= step
            if abs(step - 1) < 1e-12 { break }
        }
        return front * f / a
    }

    /// Holm's step-down procedure: which of the hypotheses with p-values `p` are rejected at
    /// family-wise level `alpha`.
    public static func holmRejections(_ p: [Double], alpha: Double) -> [Bool] {
        let order = p.indices.sorted { p[$0] < p[$1] }
        var rejected = [Bool](repeating: false, count: p.count)
        for (rank, i) in order.enumerated() {
            guard p[i] < alpha / Double(p.count - rank) else { break }
            rejected[i] = true
        }
        return rejected
    }
}
