import Foundation
import Models
import NN
import Tensor

/// One measured workload: ours, and PyTorch's on the same CPU when it is importable.
public struct BenchRow: Codable {
    public var name: String
    public var unit: String          // "GFLOP/s" or "images/s"
    public var ours: Double
    public var torch: Double?
    public var oursGFLOPs: Double?   // achieved GFLOP/s (2 x MACs / s) for throughput rows
    public var peakRSSMiB: Double
}

/// Micro and model benchmarks. Medians over repeats after warm-up; release builds only.
public enum Bench {
    public static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
    }

    /// Median seconds of `body` over `repeats` runs after `warmup` runs.
    public static func time(warmup: Int = 2, repeats: Int = 7, _ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        var ts: [Double] = []
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            ts.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return median(ts)
    }

    public static var peakRSSMiB: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// sgemm GFLOP/s for square sizes.
    public static func sgemm(sizes: [Int] = [256, 512, 1024, 2048]) -> [BenchRow] {
        sizes.map { n in
            let a = Tensor(shape: [n, n], repeating: 0.5), b = Tensor(shape: [n, n], repeating: 0.25)
            let c = Tensor(zeros: [n, n])
            let s = time(repeats: n >= 2048 ? 5 : 9) {
                BLAS.sgemm(m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n, c: c.pointer, ldc: n)
            }
            return BenchRow(name: "sgemm \(n)x\(n)x\(n)", unit: "GFLOP/s", ours: 2 * Double(n * n * n) / s / 1e9,
                            torch: nil, oursGFLOPs: nil, peakRSSMiB: peakRSSMiB)
        }
    }

    /// Forward + backward of one 3x3 conv, batch 128, 64 -> 64 channels at 16x16.
    public static func conv2d() -> BenchRow {
        var rng = RandomGenerator(seed: 1)
        let conv = Conv2d(64, 64, kernel: 3, padding: 1, rng: &rng)
        let x = Tensor(shape: [128, 64, 16, 16], values: (0..<(128 * 64 * 256)).map { _ in rng.nextFloat() - 0.5 }, requiresGrad: true)
        let s = time {
            x.grad = nil; conv.zeroGradients()
            conv(x).sum().backward()
        }
        let macs = 128.0 * 64 * 16 * 16 * 64 * 9
        return BenchRow(name: "conv2d 3x3 64->64 16x16 fwd+bwd", unit: "images/s", ours: 128 / s, torch: nil,
                        oursGFLOPs: 3 * 2 * macs / s / 1e9, peakRSSMiB: peakRSSMiB)
    }

    /// Forward + backward of one self-attention layer, batch 128, 64 tokens, width 192, 3 heads.
    public static func attention() -> BenchRow {
        var rng = RandomGenerator(seed: 2)
        let attn = MultiHeadSelfAttention(dim: 192, heads: 3, rng: &rng)
        let x = Tensor(shape: [128, 64, 192], values: (0..<(128 * 64 * 192)).map { _ in rng.nextFloat() - 0.5 }, requiresGrad: true)
        let s = time {
            x.grad = nil; attn.zeroGradients()
            attn(x).sum().backward()
        }
        let perImage: Double = 64 * 192 * 192 * 4 + 2 * 64 * 64 * 192
        let macs = 128 * perImage
        return BenchRow(name: "self-attention 64 tok, 192 wide, 3 heads fwd+bwd", unit: "images/s", ours: 128 / s,
                        torch: nil, oursGFLOPs: 3 * 2 * macs / s / 1e9, peakRSSMiB: peakRSSMiB)
    }

    /// Training steps (forward, backward, AdamW) of a zoo preset at batch `batch`.
    public static func modelTraining(_ preset: ModelPreset, batch: Int = 128, repeats: Int = 5) -> BenchRow {
        var rng = RandomGenerator(seed: 3)
        let model = preset.build(&rng)
        let opt = AdamW(parameterSlots(model.namedParameters(), weightDecay: 0.05))
        let size = preset.inputSize, c = preset.inputChannels
        let x = Tensor(shape: [batch, c, size, size], values: (0..<(batch * c * size * size)).map { _ in rng.nextFloat() - 0.5 })
        let labels = (0..<batch).map { $0 % preset.classes }
        let s = time(warmup: 1, repeats: repeats) {
            opt.zeroGradients()
            model(x).crossEntropy(labels: labels).backward()
            opt.step(learningRate: 1e-3)
        }
        let macs = Double(preset.cost().macs) * Double(batch)
        return BenchRow(name: "train \(preset.name) batch \(batch)", unit: "images/s", ours: Double(batch) / s, torch: nil,
                        oursGFLOPs: 3 * 2 * macs / s / 1e9, peakRSSMiB: peakRSSMiB)
    }

    /// Runs tools/bench_torch.py (same workloads, 2 threads) and returns name -> value.
    public static func torchFigures(script: String, threads: Int) -> [String: Double]? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, "--threads", "\(threads)"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.standardError
        do { try p.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return try? JSONDecoder().decode([String: Double].self, from: data)
    }

    public static func table(_ rows: [BenchRow]) -> String {
        var out = "| workload | unit | ours | PyTorch | ratio | ours GFLOP/s | peak RSS (MiB) |\n|---|---|---:|---:|---:|---:|---:|\n"
        for r in rows {
            let t = r.torch.map { String(format: "%.1f", $0) } ?? "n/a"
            let ratio = r.torch.map { String(format: "%.2f", r.ours / $0) } ?? "n/a"
            let g = r.oursGFLOPs.map { String(format: "%.1f", $0) } ?? "-"
            out += "| \(r.name) | \(r.unit) | \(String(format: "%.1f", r.ours)) | \(t) | \(ratio) | \(g) | \(String(format: "%.0f", r.peakRSSMiB)) |\n"
        }
        return out
    }
}
