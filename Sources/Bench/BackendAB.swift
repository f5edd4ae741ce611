import Foundation
import Tensor

/// The engine's own kernels against oneDNN, side by side: forward + backward of each conv
/// shape the mini models use (job conv-backends) and the GEMM shapes of their layers (job
/// gemm-backends), both sides in one process; and whole models under SCALEKD_CONV or
/// SCALEKD_GEMM (jobs model-ab:<preset>:<conv|gemm>=<value>, one child process each). These
/// figures are what ConvBackend's table and GEMMBackend's rule were read from.
public enum BackendAB {
    /// A backend switch: its environment variable, the engine's own value and oneDNN's.
    public enum Switch: String, CaseIterable, Sendable {
        case conv, gemm

        public var variable: String { self == .conv ? "SCALEKD_CONV" : "SCALEKD_GEMM" }
        public var own: String { self == .conv ? ConvBackend.native.rawValue : GEMMBackend.openblas.rawValue }
        public var values: [String] { [own, "dnnl"] }
    }

    struct ConvShape {
        let label: String
        let x: [Int], w: [Int]
        let stride, padding, groups: Int
        var channelsLast = false

        var shapeClass: ConvBackend.ShapeClass {
            ConvBackend.shapeClass(input: x, weight: w, stride: stride, padding: padding, groups: groups, channelsLast: channelsLast)
        }
        var name: String { "conv \(label) fwd+bwd" }
    }

    /// The mini models' convs at 1x32x32 input (ResNet-mini, MobileNet-mini, ConvNeXt-mini,
    /// the Swin/ViT patch embeddings, the CAP projectors), a 7x7 stride-2 stem and larger
    /// depthwise kernels (the paper's ConvNeXt uses 7x7).
    static let convShapes: [ConvShape] = {
        let b = Bench.batch
        return [
            ConvShape(label: "3x3 1->16 32x32 (stem)", x: [b, 1, 32, 32], w: [16, 1, 3, 3], stride: 1, padding: 1, groups: 1),
            ConvShape(label: "3x3 16->16 32x32", x: [b, 16, 32, 32], w: [16, 16, 3, 3], stride: 1, padding: 1, groups: 1),
            ConvShape(label: "3x3 32->32 16x16", x: [b, 32, 16, 16], w: [32, 32, 3, 3], stride: 1, padding: 1, groups: 1),
            ConvShape(label: "3x3 64->64 16x16", x: [b, 64, 16, 16], w: [64, 64, 3, 3], stride: 1, padding: 1, groups: 1),
            ConvShape(label: "3x3 64->64 8x8", x: [b, 64, 8, 8], w: [64, 64, 3, 3], stride: 1, padding: 1, groups: 1),
            ConvShape(label: "3x3 128->128 4x4", x: [b, 128, 4, 4], w: [128, 128, 3, 3], stride: 1, padding: 1, groups: 1),
            ConvShape(label: "3x3 s2 32->64 16x16", x: [b, 32, 16, 16], w: [64, 32, 3, 3], stride: 2, padding: 1, groups: 1),
            ConvShape(label: "7x7 s2 1->16 32x32 (stem)", x: [b, 1, 32, 32], w: [16, 1, 7, 7], stride: 2, padding: 3, groups: 1),
            ConvShape(label: "1x1 s2 32->64 16x16", x: [b, 32, 16, 16], w: [64, 32, 1, 1], stride: 2, padding: 0, groups: 1),
            ConvShape(label: "1x1 64->64 16x16", x: [b, 64, 16, 16], w: [64, 64, 1, 1], stride: 1, padding: 0, groups: 1),
            ConvShape(label: "1x1 32->64 8x8", x: [b, 32, 8, 8], w: [64, 32, 1, 1], stride: 1, padding: 0, groups: 1),
            ConvShape(label: "4x4 s4 1->128 32x32 (patches)", x: [b, 1, 32, 32], w: [128, 1, 4, 4], stride: 4, padding: 0, groups: 1),
            ConvShape(label: "3x3 4 groups 64->64 16x16", x: [b, 64, 16, 16], w: [64, 16, 3, 3], stride: 1, padding: 1, groups: 4),
            ConvShape(label: "depthwise 3x3 32 16x16", x: [b, 32, 16, 16], w: [32, 1, 3, 3], stride: 1, padding: 1, groups: 32),
            ConvShape(label: "depthwise 3x3 s2 32 16x16", x: [b, 32, 16, 16], w: [32, 1, 3, 3], stride: 2, padding: 1, groups: 32),
            ConvShape(label: "depthwise 5x5 64 16x16", x: [b, 64, 16, 16], w: [64, 1, 5, 5], stride: 1, padding: 2, groups: 64),
            ConvShape(label: "depthwise 7x7 64 16x16", x: [b, 64, 16, 16], w: [64, 1, 7, 7], stride: 1, padding: 3, groups: 64),
            ConvShape(label: "depthwise NHWC 3x3 16 32x32", x: [b, 32, 32, 16], w: [16, 1, 3, 3], stride: 1, padding: 1, groups: 16,
                      channelsLast: true),
            ConvShape(label: "depthwise NHWC 3x3 64 8x8", x: [b, 8, 8, 64], w: [64, 1, 3, 3], stride: 1, padding: 1, groups: 64,
                      channelsLast: true),
            ConvShape(label: "depthwise NHWC 7x7 64 16x16", x: [b, 16, 16, 64], w: [64, 1, 7, 7], stride: 1, padding: 3, groups: 64,
                      channelsLast: true),
        ]
    }()

    /// GEMM shapes (transposes, m, n, k) of the mini models' layers at batch 128, whole (the
    /// engine splits the large ones over its threads): Swin-mini's window attention, the ViT
    /// and Swin projections and MLPs forward and backward, an im2col GEMM.
    static let gemmShapes: [(transA: Bool, transB: Bool, m: Int, n: Int, k: Int)] = [
        (false, true, 16, 16, 16), (false, false, 16, 16, 16), (false, true, 49, 49, 32),
        (false, true, 8192, 256, 64), (false, false, 8192, 64, 256), (true, false, 256, 64, 8192),
        (false, true, 131072, 64, 16), (false, true, 2048, 512, 128), (false, false, 64, 256, 576),
    ]

    /// The name suffix of a row measured under one value of a switch.
    static func suffix(_ s: Switch, _ value: String) -> String { " [\(s.variable)=\(value)]" }

    /// The row's name without the suffix, its switch and whether it ran on oneDNN, when it is
    /// one side of an A/B pair.
    static func pair(of row: BenchRow) -> (base: String, switch: Switch, onDNNL: Bool)? {
        for s in Switch.allCases {
            for v in s.values where row.name.hasSuffix(suffix(s, v)) { return (String(row.name.dropLast(suffix(s, v).count)), s, v == "dnnl") }
        }
        return nil
    }

    /// Each conv shape on both backends, back to back (which goes first alternates by shape).
    static func convRows() -> [BenchRow] {
        var rng = RandomGenerator(seed: 6)
        var rows: [BenchRow] = []
        for (i, shape) in convShapes.enumerated() {
            let x = Tensor(shape: shape.x, values: (0..<shape.x.reduce(1, *)).map { _ in rng.nextFloat() - 0.5 }, requiresGrad: true)
            let w = Tensor(shape: shape.w, values: (0..<shape.w.reduce(1, *)).map { _ in (rng.nextFloat() - 0.5) * 0.2 }, requiresGrad: true)
            // ConvNeXt's depthwise convs have a bias; the ResNet and MobileNet convs do not.
            let bias = shape.channelsLast ? Tensor(zeros: [shape.w[0]], requiresGrad: true) : nil
            var seconds: [ConvBackend: Double] = [:]
            for backend in i % 2 == 0 ? ConvBackend.allCases : ConvBackend.allCases.reversed() {
                seconds[backend] = ConvBackend.using(backend) {
                    Bench.time {
                        x.grad = nil; w.grad = nil; bias?.grad = nil
                        let y = shape.channelsLast ? x.depthwiseConv2dChannelsLast(weight: w, bias: bias)
                            : x.conv2d(weight: w, bias: bias, stride: shape.stride, padding: shape.padding, groups: shape.groups)
                        y.sum().backward()
                    }
                }
            }
            for backend in ConvBackend.allCases {
                rows.append(BenchRow(name: shape.name + suffix(.conv, backend.rawValue), unit: "images/s",
                                     ours: Double(shape.x[0]) / seconds[backend]!, peakRSSMiB: Bench.peakRSSMiB))
            }
        }
        return rows
    }

    /// Each GEMM shape on both libraries, back to back, GFLOP/s (repeated to ~2 ms a sample).
    static func gemmRows() -> [BenchRow] {
        var rows: [BenchRow] = []
        for (i, g) in gemmShapes.enumerated() {
            let a = Tensor(shape: [g.m * g.k], repeating: 0.5), b = Tensor(shape: [g.k * g.n], repeating: 0.25)
            let c = Tensor(zeros: [g.m * g.n])
            let flops = 2 * Double(g.m * g.n * g.k), inner = Swift.max(1, Int(4e6 / flops))
            var seconds: [GEMMBackend: Double] = [:]
            for backend in i % 2 == 0 ? GEMMBackend.allCases : GEMMBackend.allCases.reversed() {
                seconds[backend] = GEMMBackend.using(backend) {
                    Bench.time(repeats: 9) {
                        for _ in 0..<inner {
                            BLAS.sgemm(transA: g.transA, transB: g.transB, m: g.m, n: g.n, k: g.k, a: a.pointer, lda: g.transA ? g.m : g.k,
                                       b: b.pointer, ldb: g.transB ? g.k : g.n, c: c.pointer, ldc: g.n)
                        }
                    }
                }
            }
            let name = "sgemm \(g.transA ? "T" : "N")\(g.transB ? "T" : "N") \(g.m)x\(g.n)x\(g.k)"
            for backend in GEMMBackend.allCases {
                rows.append(BenchRow(name: name + suffix(.gemm, backend.rawValue), unit: "GFLOP/s",
                                     ours: flops * Double(inner) / seconds[backend]! / 1e9, peakRSSMiB: Bench.peakRSSMiB))
            }
        }
        return rows
    }

    /// The A/B pairs of `rows` as a markdown table (empty without pairs): each side's figure,
    /// oneDNN / own as the median of the rounds' ratios and their range, the same for the row
    /// under this process's settings (auto unless set) when `rows` has it, and for conv rows
    /// the shape class with what auto runs it on here.
    static func table(_ rows: [BenchRow]) -> String {
        var bases: [String] = [], sides: [String: (own: BenchRow?, dnnl: BenchRow?, switch: Switch)] = [:]
        for r in rows {
            guard let (base, s, onDNNL) = pair(of: r) else { continue }
            if sides[base] == nil { bases.append(base); sides[base] = (nil, nil, s) }
            if onDNNL { sides[base]!.dnnl = r } else { sides[base]!.own = r }
        }
        let pairs = bases.compactMap { b in sides[b].flatMap { s in s.own.flatMap { o in s.dnnl.map { (b, o, $0, s.switch) } } } }
        if pairs.isEmpty { return "" }
        func ratios(_ a: BenchRow, over b: BenchRow) -> [Double] {
            let x = a.oursRounds ?? [a.ours], y = b.oursRounds ?? [b.ours]
            return x.count == y.count ? zip(x, y).map { $0 / $1 } : [a.ours / b.ours]
        }
        func cells(_ r: [Double]) -> String {
            String(format: "%.2f | ", Bench.median(r)) + (r.count < 2 ? "" : String(format: "%.2f-%.2f", r.min()!, r.max()!))
        }
        let rounds = pairs.map { $0.1.oursRounds?.count ?? 1 }.max() ?? 1
        var out = "\nThe engine's kernels against oneDNN, \(rounds) rounds; conv rows: forward + backward, batch \(Bench.batch); "
            + "own = native convs or OpenBLAS; settings = this process's (SCALEKD_CONV=\(ConvBackend.policy.rawValue), "
            + "SCALEKD_GEMM=\(GEMMBackend.policy.rawValue)):\n\n"
        out += "| workload | switch | unit | own | oneDNN | oneDNN / own | range | settings / own | range | conv shape class (auto here) |\n"
        out += "|---|---|---|---:|---:|---:|---:|---:|---:|---|\n"
        for (base, own, dnnl, s) in pairs {
            let settings = rows.first { $0.name == base }.map { cells(ratios($0, over: own)) } ?? " | "
            let shapeClass = convShapes.first { $0.name == base }.map { "\($0.shapeClass.rawValue) (\(ConvBackend.autoChoice($0.shapeClass).rawValue))" } ?? ""
            out += "| \(base) | \(s.variable) | \(own.unit) | " + String(format: "%.1f | %.1f | ", own.ours, dnnl.ours)
                + cells(ratios(dnnl, over: own)) + " | \(settings) | \(shapeClass) |\n"
        }
        return out
    }
}
