import Foundation
import Tables
import Training
import XCTest

/// Shards split a table's runs into disjoint shares that cover it, keep a fine-tuning run
/// with the run it starts from, and the Slurm scripts run each share as one array task.
final class ShardTests: XCTestCase {
    func config(_ seed: UInt64, initFrom: String? = nil) -> RunConfig {
        RunConfig(model: "resnet-mini", split: DataSplit(train: .student, perClass: 5), strategy: .traditional, epochs: 1,
                  batchSize: 10, seed: seed, initFrom: initFrom, scale: .ci)
    }

    func testSharesAreDisjointCoverAndStable() throws {
        let base = (0..<40).map { config(UInt64($0)) }
        let tuned = base.prefix(10).map { config(99, initFrom: $0.key) }
        let all = base + tuned
        for n in [1, 2, 3, 7] {
            let shares = try (1...n).map { try Shard(index: $0, count: n).select(all).map(\.key) }
            XCTAssertEqual(shares.flatMap { $0 }.sorted(), all.map(\.key).sorted(), "\(n) shards must cover every run once")
            XCTAssertEqual(try (1...n).map { try Shard(index: $0, count: n).select(all).map(\.key) }, shares, "stable")
            for (parent, child) in zip(base.prefix(10), tuned) {
                XCTAssertEqual(shares.firstIndex { $0.contains(parent.key) }, shares.firstIndex { $0.contains(child.key) },
                               "a fine-tuning run goes with the run it starts from")
            }
        }
        if let mixed = try? (1...3).map({ try Shard(index: $0, count: 3).select(base).count }) {
            XCTAssertTrue(mixed.allSatisfy { $0 > 0 }, "40 runs over 3 shards leave none empty: \(mixed)")
        }
    }

    func testBadShardsAreRefused() {
        for text in ["0/3", "4/3", "1/0", "a/b", "3"] {
            XCTAssertThrowsError(try Shard(parsing: text), text) { XCTAssertTrue("\($0)".contains("i/N"), "\($0)") }
        }
    }

    func testSlurmScripts() {
        let jobs = SlurmJobs(table: 3, scale: .small, seeds: nil, shards: 4, secondsPerShard: 93_784, cpusPerTask: 2, memory: "8G",
                             directory: "/shared/scalekd", executable: "/shared/scalekd/.build/release/scalekd", runs: "/shared/scalekd/runs")
        XCTAssertTrue(jobs.arrayScript.contains("#SBATCH --array=1-4"))
        XCTAssertTrue(jobs.arrayScript.contains("#SBATCH --time=1-02:03:04"))
        XCTAssertTrue(jobs.arrayScript.contains("run table3 --scale small --runs /shared/scalekd/runs --shard ${SLURM_ARRAY_TASK_ID}/4"))
        XCTAssertFalse(jobs.assembleScript.contains("--shard"))
        XCTAssertTrue(jobs.submitScript.contains("--dependency=afterok:${array%%;*}"))
    }
}
