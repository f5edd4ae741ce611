import Bench
import Foundation
import Tables
import Training

/// `scalekd run tableN --dry-run` at ci or small scale: the table's runs, which are finished,
/// under way or not started, and the time the rest will take on this machine. A small-scale
/// table with converged students and 3-5 seeds costs hours to days of CPU, so what a table
/// still needs is worth knowing before it is started (or while a campaign trains it).
enum SmallDryRun {
    /// Seconds per trained image of one kind of run (model, teacher, method, batch, recipe):
    /// from finished runs of that kind (their whole wall time: steps, evaluations, checkpoints),
    /// else from timed steps here.
    struct Cost {
        var secondsPerImage: Double
        var evaluationSecondsPerImage: Double
        var source: String
    }

    /// A run's kind: its config with what does not change the cost of a step made equal.
    static func kind(_ config: RunConfig) -> String {
        var c = config
        c.seed = 0
        c.epochs = 1
        c.initFrom = nil
        return c.key
    }

    /// The cost of each kind from the finished runs of the run cache and the results store.
    static func finishedCosts(cache: RunCache) -> [String: Cost] {
        let fm = FileManager.default
        var records: [RunRecord] = []
        if let store = cache.store, let names = try? fm.contentsOfDirectory(atPath: store) {
            records += names.filter { $0.hasSuffix(".json") }.compactMap { RunRecord.load(from: "\(store)/\($0)") }
        }
        var sums: [String: (seconds: Double, images: Double)] = [:]
        for r in records where r.result.wallSeconds > 0 && r.result.steps > 0 {
            let k = kind(r.config), old = sums[k] ?? (0, 0)
            sums[k] = (old.seconds + r.result.wallSeconds, old.images + Double(r.result.steps * r.config.batchSize))
        }
        return sums.mapValues { Cost(secondsPerImage: $0.seconds / $0.images, evaluationSecondsPerImage: 0,
                                     source: "finished runs") }
    }

    /// Timed here: the run's training step (its objective: teacher forward, projectors, losses,
    /// backward, optimizer) and its student's inference, one thread each, in child processes.
    static func measuredCost(_ config: RunConfig, repeats: Int) throws -> Cost {
        FileHandle.standardError.write(Data("timing a training step of \(config.model)\(config.teacher.map { " from \($0)" } ?? "") (1 thread)...\n".utf8))
        let step = try Bench.runInChild(.runStep(config), repeats: repeats)[0]
        let infer = try Bench.runInChild(.step(config.model, train: false, batch: 256), repeats: 2)[0]
        return Cost(secondsPerImage: 1 / step.ours, evaluationSecondsPerImage: 1 / infer.ours, source: "timed here")
    }

    /// How far an unfinished run got: the last step its log (runs/<key>/log.jsonl) records,
    /// and whether it was written in the last ten minutes (a process is training it).
    static func progress(_ config: RunConfig, cache: RunCache) -> (step: Int, active: Bool)? {
        let path = cache.directory(for: config) + "/log.jsonl"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let last = text.split(separator: "\n").reversed().lazy.compactMap { line -> Int? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return (object["step"] as? NSNumber)?.intValue
        }.first
        guard let step = last else { return nil }
        let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
        return (step, Date().timeIntervalSince(modified) < 600)
    }

    static func report(runner: TableRunner, repeats: Int) throws -> String {
        let planned = try runner.plannedRuns()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // The layout `scalekd run` uses at small scale: one 1-thread process per core.
        setenv("SCALEKD_THREADS", "1", 1)
        var costs = finishedCosts(cache: runner.cache)
        var lines = [
            "| run | cells | model | teacher | method | epochs | status | cost from | time left (1 core) |",
            "|---|---|---|---|---|---:|---|---|---:|",
        ]
        var left = 0.0, finished = 0, underWay = 0, spent = 0.0
        for (config, cells) in planned {
            let shownCells = cells.count > 3 ? cells.prefix(2).joined(separator: ", ") + " and \(cells.count - 2) more" : cells.joined(separator: ", ")
            let method = config.method.map { PaperDryRun.methodCell("\($0.name)", flags: $0.flags, options: nil) } ?? "baseline"
            func row(_ status: String, _ source: String, _ time: String) {
                lines.append("| \(config.key) | \(shownCells) | \(config.model) | \(config.teacher ?? "") | \(method) | \(config.epochs) | \(status) | \(source) | \(time) |")
            }
            if let r = runner.cache.result(for: config) {
                finished += 1
                spent += r.wallSeconds
                row(String(format: "finished: test %.2f", r.top1), "", "0")
                continue
            }
            let work = try runner.workload(of: config)
            let k = kind(config)
            if costs[k] == nil { costs[k] = try measuredCost(config, repeats: repeats) }
            let cost = costs[k]!
            let done = progress(config, cache: runner.cache)
            let fraction = done.map { 1 - Double(min($0.step, work.steps)) / Double(max(work.steps, 1)) } ?? 1
            let seconds = fraction * (Double(work.steps * config.batchSize) * cost.secondsPerImage
                                      + Double(work.evaluationImages) * cost.evaluationSecondsPerImage)
            left += seconds
            var status = "not started"
            if let done {
                underWay += 1
                status = "step \(done.step) of \(work.steps)" + (done.active ? ", training now" : "")
            }
            row(status, cost.source, formatDuration(seconds))
        }
        let remaining = planned.count - finished
        // Timed steps share the CPU with whatever else runs: the load says how much.
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "unknown"
        var out = [
            "Table \(runner.spec.table) at \(runner.scale) scale, \(runner.seeds) seed\(runner.seeds == 1 ? "" : "s"): \(planned.count) runs, "
                + "\(finished) finished, \(underWay) under way, \(remaining - underWay) not started (dry run: nothing trains)",
            "",
        ] + lines
        out += [
            "",
            "Left: \(formatDuration(left)) of one core; with one 1-thread process per core (\(cores) here, `scalekd run`'s layout at small scale) "
                + "about \(formatDuration(left / Double(max(1, min(cores, remaining))))) if nothing else runs. Finished runs took \(formatDuration(spent)) in all.",
            "",
            "How the estimate is made: a run's time left is its steps not yet taken (its log in runs/<key>/log.jsonl says how far it got) "
                + "x batch x seconds per trained image. Where runs of the same kind (model, teacher, method, batch, recipe) have finished, "
                + "their wall time per trained image is used (it includes evaluations and checkpoints, on the machine and load they ran under); "
                + "otherwise a training step of the run is timed here (\(repeats) steps after warm-up, one thread, in a child process) and the "
                + "evaluations' images at the student's inference speed are added. A busy machine (a campaign running) makes the timed figures slow: "
                + "the 1-minute load average after timing was \(load) on \(cores) cores.",
        ]
        return out.joined(separator: "\n")
    }
}
