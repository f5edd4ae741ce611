import Foundation
import Models

/// The presets table of `scalekd models`: our counts from a shape-only pass beside the
/// paper's published figures.
public enum ModelTable {
    public static func markdown(scale: ModelScale) -> String {
        var out = "| preset | family | input | params (M) | paper params (M) | GFLOPs (MACs) | paper GFLOPs | teacher |\n|---|---|---|---:|---:|---:|---:|---|\n"
        for p in Zoo.presets where p.scale == scale {
            let (params, macs) = p.cost()
            let pp = p.paperParamsM.map { String(format: "%.2f", $0) } ?? "unknown"
            let pg = p.paperGFLOPs.map { String(format: "%.2f", $0) } ?? "unknown"
            out += "| \(p.name) | \(p.family) | \(p.inputChannels)x\(p.inputSize)x\(p.inputSize) | \(String(format: "%.2f", Double(params) / 1e6)) | \(pp) | \(String(format: "%.3f", Double(macs) / 1e9)) | \(pg) | \(p.isTeacher ? "yes" : "") |\n"
        }
        return out + "\nFLOPs are multiply-accumulates of conv, linear and matmul (attention included), from a shape-only pass.\n"
    }
}
