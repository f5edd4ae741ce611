import Bench
import Foundation
import Models
import Tables
import Training

/// `scalekd run tableN --scale paper --dry-run`: the table's paper-scale runs with their
/// size, memory and the time they would take here, from timed steps of each distinct model
/// at its input size (each in a child process, so each peak RSS is its own). Needs no ImageNet.
enum PaperDryRun {
    /// Timed steps of one preset: images/s at `batch`, and resident memory at batch 1 and
    /// `batch` (MiB), from which the per-image activation memory is the slope.
    struct Measurement {
        var imagesPerSecond: Double
        var peakAtOneMiB: Double
        var peakAtBatchMiB: Double
        var batch: Int

        /// Peak RSS extrapolated linearly to `images` per step.
        func memoryMiB(images: Int) -> Double {
            let perImage = max(0, (peakAtBatchMiB - peakAtOneMiB) / Double(max(batch - 1, 1)))
            return peakAtBatchMiB + perImage * Double(images - batch)
        }
    }

    static func measure(_ preset: String, train: Bool, batch: Int, repeats: Int) throws -> Measurement {
        FileHandle.standardError.write(Data("timing \(train ? "training steps" : "inference") of \(preset) at \(Zoo.preset(named: preset)?.inputSize ?? 224) px, batch 1 and \(batch)...\n".utf8))
        let one = try Bench.runInChild(.step(preset, train: train, batch: 1), repeats: 1)[0]
        let full = try Bench.runInChild(.step(preset, train: train, batch: batch), repeats: repeats)[0]
        return Measurement(imagesPerSecond: full.ours, peakAtOneMiB: one.peakRSSMiB, peakAtBatchMiB: full.peakRSSMiB, batch: batch)
    }

    static func report(spec: TableSpec, batch: Int, repeats: Int) throws -> String {
        let runs = try PaperPlan.runs(of: spec, recipes: try PaperRecipes.load())
        var students: [String: Measurement] = [:], teachers: [String: Measurement] = [:]
        for run in runs where students[run.student] == nil {
            students[run.student] = try measure(run.student, train: true, batch: batch, repeats: repeats)
        }
        for run in runs { if let t = run.teacher, teachers[t] == nil { teachers[t] = try measure(t, train: false, batch: batch, repeats: repeats) } }
        let params = Dictionary(uniqueKeysWithValues: Set(runs.flatMap { [$0.student] + ($0.teacher.map { [$0] } ?? []) })
            .map { ($0, Zoo.preset(named: $0)!.cost().params) })
        let env = EnvironmentReport.current()
        var lines = [
            "Table \(spec.table) at paper scale: \(runs.count) runs (dry run: nothing trains, ImageNet not needed)",
            "",
            "| run | cells | method | teacher -> student | strategy | epochs x seeds | batch (per GPU x GPUs) | params S / T (M) | memory at per-GPU batch (GiB) | images/s here | time here |",
            "|---|---|---|---|---|---|---|---|---|---:|---:|",
        ]
        var totalSeconds = 0.0
        for (i, run) in runs.enumerated() {
            let s = students[run.student]!, t = run.teacher.map { teachers[$0]! }
            // A distillation step costs the student's training step plus the teacher's
            // forward (the projectors and TPP's backward through the teacher's last stage are
            // not timed: a lower bound for ScaleKD).
            let secondsPerImage = 1 / s.imagesPerSecond + (t.map { 1 / $0.imagesPerSecond } ?? 0)
            let seconds = secondsPerImage * Double(PaperPlan.trainImages) * Double(run.epochs * run.seeds)
            totalSeconds += seconds
            // Both models' processes measured apart: their sums count the runtime twice, a small overestimate.
            let memory = (s.memoryMiB(images: run.recipe.perGPUBatch) + (t?.memoryMiB(images: run.recipe.perGPUBatch) ?? 0)) / 1024
            let sizes = String(format: "%.2f", Double(params[run.student]!) / 1e6)
                + (run.teacher.map { String(format: " / %.2f", Double(params[$0]!) / 1e6) } ?? "")
            let recipe = "\(run.recipe.perGPUBatch) x \(run.recipe.gpus) = \(run.recipe.globalBatch), \(run.recipe.optimizer)"
                + (run.recipe.assumedFrom.map { " (assumed: \($0)'s)" } ?? "")
            lines.append("| \(i + 1) | \(run.cells.joined(separator: ", ")) | \(methodCell(run)) | \(run.teacher.map { "\($0) -> " } ?? "")\(run.student) | "
                + "\(run.strategy) | \(run.epochs) x \(run.seeds) | \(recipe) | \(sizes) | \(String(format: "%.1f", memory)) | "
                + "\(String(format: "%.2f", 1 / secondsPerImage)) | \(days(seconds)) |")
        }
        let omitted = try spec.paperPlan().omissionLines
        if !omitted.isEmpty { lines += ["", "Not run at paper scale:"] + omitted.map { "- " + $0 } }
        lines += [
            "",
            "Total here: \(days(totalSeconds)) on this machine (\(env.loopThreads) threads, BLAS \(env.blasKernel), CPU \(env.cpu)).",
            "",
            "How the estimate is made: each distinct model ran \(repeats) timed steps (after one warm-up) at its input size (224 x 224 for the paper presets), batch \(batch), "
                + "in a process of its own: students a training step (forward, backward, AdamW), teachers a forward without gradients. "
                + "Time = epochs x seeds x \(PaperPlan.trainImages) ImageNet-1K images / images/s; a distillation run adds the teacher's "
                + "forward per image and leaves out the projectors and TPP's backward through the teacher's last stage (a lower bound). "
                + "Data loading (JPEG decode and augmentation) is not included. Memory: the peak resident set at batch 1 and batch \(batch), "
                + "extrapolated linearly to the recipe's per-GPU batch, student and teacher processes added (one process, one GPU's share). "
                + "Recipes: tables/paper-recipes.yaml (Table 10 as reconstructed from the released configs).",
        ]
        return lines.joined(separator: "\n")
    }

    /// The method with the run's own switches and weights (e.g. "scalekd kd:false beta:0.5714286").
    static func methodCell(_ run: PaperRun) -> String { methodCell(run.method, flags: run.flags, options: run.options) }

    /// A method with the switches and weights it sets, compactly ("scalekd kd:false beta:0.5").
    static func methodCell(_ name: String, flags: MethodFlags?, options: MethodOptions?) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func compact<T: Encodable>(_ value: T?) -> String? {
            guard let value, let data = try? encoder.encode(value) else { return nil }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "{}")).replacingOccurrences(of: "\"", with: "")
            return text.isEmpty ? nil : text.replacingOccurrences(of: ",", with: " ")
        }
        return ([name] + [compact(flags), compact(options)].compactMap { $0 }).joined(separator: " ")
    }

    static func days(_ seconds: Double) -> String {
        seconds >= 86400 ? String(format: "%.0f days", seconds / 86400) : formatDuration(seconds)
    }
}
