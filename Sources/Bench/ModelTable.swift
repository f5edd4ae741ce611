import Foundation
import Training
import Models

/// The presets table of `scalekd models`: our counts from a shape-only pass beside the
/// paper's published figures, and optionally the measured training throughput.
public enum ModelTable {
    /// `throughput` measures a preset's training images/s (nil: no column).
    public static func markdown(scale: ModelScale, throughput: ((ModelPreset) -> Double)? = nil) -> String {
        // Mini presets have no paper counterpart: "n/a", not "unknown".
        let missing = scale == .paper ? "unknown" : "n/a"
        var out = "| preset | family | input | params (M) | paper params (M) | GFLOPs (MACs) | paper GFLOPs | teacher |"
        out += throughput == nil ? "\n|---|---|---|---:|---:|---:|---:|---|\n" : " train images/s |\n|---|---|---|---:|---:|---:|---:|---|---:|\n"
        for p in Zoo.presets where p.scale == scale {
            let (params, macs) = p.cost()
            let pp = p.paperParamsM.map { String(format: "%.2f", $0) } ?? missing
            let pg = p.paperGFLOPs.map { String(format: "%.2f", $0) } ?? missing
            out += "| \(p.name) | \(p.family) | \(p.inputChannels)x\(p.inputSize)x\(p.inputSize) | \(String(format: "%.2f", Double(params) / 1e6)) | \(pp) | \(String(format: "%.3f", Double(macs) / 1e9)) | \(pg) | \(p.isTeacher ? "yes" : "") |"
            if let throughput { out += String(format: " %.0f |", throughput(p)) }
            out += "\n"
        }
        out += "\nFLOPs are multiply-accumulates of conv, linear and matmul (attention included), from a shape-only pass.\n"
        if throughput != nil { out += "Throughput: training steps (forward, backward, AdamW) at batch 128, median after warm-up, this machine now.\n" }
        return out
    }
}
