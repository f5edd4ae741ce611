import Foundation
import Store
import Training

/// `scalekd run tableN --slurm`: sbatch scripts that train a table's missing runs as a Slurm
/// job array (task i runs `--shard i/N`) on a shared filesystem, then assemble the table in a
/// job that starts when every task has succeeded. Runs meet through the shared run cache and
/// the results store, by run key, so the assembled table is the one a single machine writes.
public struct SlurmJobs {
    public let table: Int
    public let scale: Scale
    public let seeds: Int?
    public let shards: Int
    /// Seconds each shard may take (the job array's --time): its missing runs' estimated cost
    /// with 50% headroom.
    public let secondsPerShard: Double
    public let cpusPerTask: Int
    public let memory: String
    /// The repository on the shared filesystem, the executable and the run cache, as the
    /// compute nodes see them.
    public let directory: String
    public let executable: String
    public let runs: String
    /// The output folder the assembly writes to (nil: the scale's default).
    public var out: String? = nil

    public init(table: Int, scale: Scale, seeds: Int?, shards: Int, secondsPerShard: Double, cpusPerTask: Int, memory: String,
                directory: String, executable: String, runs: String) {
        self.table = table; self.scale = scale; self.seeds = seeds; self.shards = shards; self.secondsPerShard = secondsPerShard
        self.cpusPerTask = cpusPerTask; self.memory = memory; self.directory = directory; self.executable = executable; self.runs = runs
    }

    /// Plans the jobs for the runs of `runner` the cache lacks: `shards` tasks (default: one
    /// per missing run, at most 32), each given the time of its costliest share.
    public static func plan(runner: TableRunner, shards: Int?, directory: String, executable: String, runs: String,
                            cpusPerTask: Int = 2, memory: String = "8G") throws -> SlurmJobs {
        let missing = try runner.configs().filter { runner.cache.result(for: $0) == nil }
        let n = max(1, shards ?? min(32, missing.count))
        let estimate = CostEstimate(store: runner.cache.store)
        var worst = 0.0
        for i in 1...n {
            let mine = try Shard(index: i, count: n).select(missing)
            worst = max(worst, mine.map { estimate.seconds(for: $0) }.reduce(0, +))
        }
        return SlurmJobs(table: runner.spec.table, scale: runner.scale, seeds: runner.seeds == runner.spec.plan[runner.scale.rawValue]?.seeds ? nil : runner.seeds,
                         shards: n, secondsPerShard: max(600, worst * 1.5), cpusPerTask: cpusPerTask, memory: memory,
                         directory: directory, executable: executable, runs: runs)
    }

    var stem: String { String(format: "table%02d", table) }

    var runArguments: String {
        "run table\(table) --scale \(scale.rawValue) --runs \(runs)" + (seeds.map { " --seeds \($0)" } ?? "") + (out.map { " --out \($0)" } ?? "")
    }

    public static func slurmTime(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.up))
        return String(format: "%d-%02d:%02d:%02d", s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60)
    }

    public var arrayScript: String {
        """
        #!/bin/bash
        # Table \(table) at \(scale) scale: task i trains shard i/\(shards) of the runs the cache lacks.
        #SBATCH --job-name=scalekd-\(stem)
        #SBATCH --array=1-\(shards)
        #SBATCH --cpus-per-task=\(cpusPerTask)
        #SBATCH --mem=\(memory)
        #SBATCH --time=\(SlurmJobs.slurmTime(secondsPerShard))
        #SBATCH --output=\(directory)/slurm/logs/\(stem)-%A_%a.out
        set -euo pipefail
        cd \(directory)
        SCALEKD_THREADS=${SLURM_CPUS_PER_TASK:-\(cpusPerTask)} \(executable) \(runArguments) --shard ${SLURM_ARRAY_TASK_ID}/\(shards)

        """
    }

    public var assembleScript: String {
        """
        #!/bin/bash
        # Table \(table) at \(scale) scale: assembles the outputs once every shard has finished.
        #SBATCH --job-name=scalekd-\(stem)-assemble
        #SBATCH --cpus-per-task=\(cpusPerTask)
        #SBATCH --mem=\(memory)
        #SBATCH --time=\(SlurmJobs.slurmTime(max(600, secondsPerShard / 4)))
        #SBATCH --output=\(directory)/slurm/logs/\(stem)-assemble-%j.out
        set -euo pipefail
        cd \(directory)
        SCALEKD_THREADS=${SLURM_CPUS_PER_TASK:-\(cpusPerTask)} \(executable) \(runArguments)

        """
    }

    public var submitScript: String {
        """
        #!/bin/bash
        # Submits the job array, then the assembly with a dependency on all its tasks.
        set -euo pipefail
        cd \(directory)
        mkdir -p slurm/logs
        array=$(sbatch --parsable slurm/\(stem)-shards.sbatch)
        assemble=$(sbatch --parsable --dependency=afterok:${array%%;*} slurm/\(stem)-assemble.sbatch)
        echo "submitted \(stem): shards ${array%%;*}, assembly ${assemble%%;*}"

        """
    }

    /// Writes slurm/<stem>-shards.sbatch, -assemble.sbatch and -submit.sh; returns the submit script's path.
    @discardableResult
    public func write() throws -> String {
        let dir = directory + "/slurm"
        try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
        try AtomicWrite.write(Data(arrayScript.utf8), to: "\(dir)/\(stem)-shards.sbatch")
        try AtomicWrite.write(Data(assembleScript.utf8), to: "\(dir)/\(stem)-assemble.sbatch")
        let submit = "\(dir)/\(stem)-submit.sh"
        try AtomicWrite.write(Data(submitScript.utf8), to: submit)
        chmod(submit, 0o755)
        return submit
    }
}

/// A run's expected training time: the median seconds per epoch of finished runs of the same
/// model and scale in the results store, times its epochs; else a conservative default.
public struct CostEstimate {
    var secondsPerEpoch: [String: Double] = [:]

    public init(store: String?) {
        var samples: [String: [Double]] = [:]
        let files = store.flatMap { try? FileManager.default.contentsOfDirectory(atPath: $0) } ?? []
        for f in files where f.hasSuffix(".json") {
            guard let store, let r = RunRecord.load(from: "\(store)/\(f)"), r.result.epochs > 0 else { continue }
            samples["\(r.config.scale)|\(r.config.model)", default: []].append(r.result.wallSeconds / Double(r.result.epochs))
        }
        secondsPerEpoch = samples.mapValues { $0.sorted()[$0.count / 2] }
    }

    public func seconds(for config: RunConfig) -> Double {
        if let s = secondsPerEpoch["\(config.scale)|\(config.model)"] { return s * Double(config.epochs) }
        // Unmeasured: a distilled small-scale run of a few hundred epochs takes about an hour on 2 cores.
        switch config.scale {
        case .ci: return 120
        case .small: return 3600
        case .paper: return 3 * 86400
        }
    }
}
