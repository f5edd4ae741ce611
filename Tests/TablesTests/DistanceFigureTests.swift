import Distill
import Tables
import Training
import Foundation
import Plot
import Tensor
import XCTest

/// Figure 6's pieces on synthetic data: PCA recovers known directions, the distance ignores the
/// direct component and the projector's scale, the data round-trips through HDF5, and the spec
/// validator checks the figure's rows.
final class DistanceFigureTests: XCTestCase {
    /// Points spread along `u` (large) and `w` (small), plus a constant offset, in d dimensions (m a multiple of 4).
    func points(m: Int, d: Int) -> (x: [Float], u: [Double], w: [Double]) {
        var u = [Double](repeating: 0, count: d), w = [Double](repeating: 0, count: d)
        for j in 0..<d { u[j] = Double(j % 3) - 0.7; w[j] = j % 2 == 0 ? 1 : -1 }
        // Make w orthogonal to u, then normalise both.
        let uu = u.reduce(0) { $0 + $1 * $1 }, uw = zip(u, w).reduce(0) { $0 + $1.0 * $1.1 }
        w = zip(w, u).map { $0 - uw / uu * $1 }
        func unit(_ v: [Double]) -> [Double] { let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot(); return v.map { $0 / n } }
        (u, w) = (unit(u), unit(w))
        var x = [Float](repeating: 0, count: m * d)
        for i in 0..<m {
            // b follows +, -, -, + (m a multiple of 4): zero mean and uncorrelated with the linear a,
            // so the principal axes are exactly u and w.
            let a = Double(i) / Double(m) * 10 - 5, b = [0.5, -0.5, -0.5, 0.5][i % 4]
            for j in 0..<d { x[i * d + j] = Float(3 + a * u[j] + b * w[j]) }
        }
        return (x, u, w)
    }

    func testPCARecoversKnownDirectionsOnBothSides() {
        // m < d uses the Gram matrix, m > d the covariance; both must find u then w.
        for (m, d) in [(12, 40), (60, 8)] {
            let (x, u, w) = points(m: m, d: d)
            let fit = PCA.fit(x, rows: m, columns: d)
            let dot0 = zip(fit.components[0], u).reduce(0) { $0 + $1.0 * $1.1 }
            let dot1 = zip(fit.components[1], w).reduce(0) { $0 + $1.0 * $1.1 }
            XCTAssertEqual(abs(dot0), 1, accuracy: 1e-4, "\(m)x\(d): first component is not u")
            XCTAssertEqual(abs(dot1), 1, accuracy: 1e-3, "\(m)x\(d): second component is not w")
            // Two directions hold all the variance.
            XCTAssertEqual(fit.variances.reduce(0, +) / fit.totalVariance, 1, accuracy: 1e-4)
            XCTAssertGreaterThan(fit.variances[0], fit.variances[1])
            // Deterministic signs: each component's largest entry is positive.
            for c in fit.components { XCTAssertGreaterThan(c.max { abs($0) < abs($1) }!, 0) }
            // Coordinates on PC 1 are the positions along u (up to the fitted sign), centred.
            let coords = PCA.project(x, rows: m, columns: d, on: fit)
            let sign = dot0 > 0 ? 1.0 : -1.0
            for i in 0..<m { XCTAssertEqual(coords[i][0], sign * (Double(i) / Double(m) * 10 - 5 + 5.0 / Double(m)), accuracy: 1e-3) }
        }
    }

    func testDistanceIgnoresTheDirectComponentAndTheProjectorScale() {
        var rng = RandomGenerator(seed: 3)
        let (n, l, c) = (2, 16, 5)
        let teacher = Tensor(shape: [n, l, c], values: (0..<(n * l * c)).map { _ in rng.nextNormal() })
        // DC removal zeroes every channel's spatial mean.
        let removed = FeatureLoss.subtractSpatialMean(teacher).values
        for i in 0..<n {
            for ch in 0..<c {
                let mean = (0..<l).map { removed[(i * l + $0) * c + ch] }.reduce(0, +) / Float(l)
                XCTAssertEqual(mean, 0, accuracy: 1e-5)
            }
        }
        // A student that differs by a per-channel constant (pure DC) and a positive scale is at distance zero.
        let offsets = Tensor(shape: [1, 1, c], values: (0..<c).map { Float($0) * 2 - 3 })
        let student = teacher * 2.5 + offsets
        XCTAssertEqual(DistanceMeasurement.distance(teacher: teacher, student: student).values.map(abs).max()!, 0, accuracy: 1e-5)
        // A different pattern is not.
        let other = Tensor(shape: [n, l, c], values: (0..<(n * l * c)).map { _ in rng.nextNormal() })
        XCTAssertGreaterThan(DistanceMeasurement.distance(teacher: teacher, student: other).values.map(abs).max()!, 0.1)
    }

    func scatter(shrink: Double) -> DistanceScatter {
        let n = 50
        func group(_ name: String, _ factor: Double) -> DistanceScatter.Group {
            DistanceScatter.Group(name: name, runKey: name, coordinates: (0..<n).map { [factor * cos(Double($0)), factor * sin(Double($0))] },
                                  norms: (0..<n).map { factor * (1 + 0.1 * Double($0 % 7)) })
        }
        return DistanceScatter(title: "synthetic Figure 6", scale: "ci", without: group("without DFM", 1), with: group("with DFM", shrink),
                               withFrequencyViewNorms: (0..<n).map { _ in 0.2 }, plotted: [0, 3, 7, 20, 49], origin: [0.1, -0.2],
                               explainedShare: [0.4, 0.2], dimension: 32)
    }

    func testScatterRoundTripsAndRendersWithVerdict() throws {
        let data = scatter(shrink: 0.6)
        let path = NSTemporaryDirectory() + "distance-\(UUID().uuidString).h5"
        try data.save(to: path)
        XCTAssertTrue(DistanceScatter.isDistanceScatter(path))
        XCTAssertEqual(try DistanceScatter.load(from: path), data)
        let plot = data.plot()
        XCTAssertEqual(plot.series.map { $0.x.count }, [5, 5, 1])
        XCTAssertEqual(plot.series[0].color, Palette.okabeIto[0])  // blue without DFM, as in the paper
        XCTAssertGreaterThan(plot.render(scale: 1).width, 100)
        XCTAssertEqual(data.verdict().verdict, .held)
        XCTAssertEqual(scatter(shrink: 1.2).verdict().verdict, .notHeld)
        XCTAssertTrue(data.markdown(fileName: "f.png").joined().contains("**held**"))
    }

    let spec = """
    table: 97
    title: distances
    source: synthetic
    columns:
      - {id: setting, header: Setting, kind: label}
      - {id: top1, header: Top-1, kind: run}
    plan:
      ci: {epochs: 1, seeds: 1}
    rows:
      - {id: cap, models: {teacher: swin-mini-s, student: resnet-mini}, runs: {top1: {method: scalekd, flags: {dfm: false}}}}
      - {id: dfm, models: {teacher: swin-mini-s, student: resnet-mini}, runs: {top1: {method: scalekd}}}
    figures:
      - {id: fig6, kind: distance_scatter, title: Distances, column: top1, without: cap, with: dfm, samples: 100, points: 50}
    """

    func testDistanceScatterSpecIsValidated() throws {
        let dir = NSTemporaryDirectory() + "distance-spec-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let good = dir + "/good.yaml"
        try spec.write(toFile: good, atomically: true, encoding: .utf8)
        XCTAssertEqual(try TableSpec.load(good).figures?.first?.with, "dfm")
        let cases = [
            (spec.replacingOccurrences(of: "without: cap, with: dfm", with: "without: dfm, with: cap"), "has DFM on"),
            (spec.replacingOccurrences(of: "with: dfm", with: "with: nosuch"), "unknown row 'nosuch'"),
            (spec.replacingOccurrences(of: "without: cap, ", with: ""), "needs without"),
            (spec.replacingOccurrences(of: "samples: 100", with: "samples: 1"), "samples must be at least 2"),
            (spec.replacingOccurrences(of: "kind: distance_scatter", with: "kind: scatter"), "supported: line, distance_scatter"),
        ]
        for (i, (text, message)) in cases.enumerated() {
            let path = dir + "/case\(i).yaml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try TableSpec.load(path)) { error in
                XCTAssertTrue("\(error)".contains(message), "expected '\(message)' in: \(error)")
                XCTAssertTrue("\(error)".contains("case\(i).yaml:13:"), "expected the figure entry's line in: \(error)")
            }
        }
    }
}
