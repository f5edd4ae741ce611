import Bench
import Training
import Foundation
import XCTest

/// The PyTorch presets of tools/bench_torch.py must be the zoo's, or `make bench`
/// compares different networks. Counts only: timing belongs to the bench, not the tests.
final class BenchTorchTests: XCTestCase {
    func testPyTorchPresetsHaveOurParameterCounts() throws {
        guard Bench.torchImportable else { throw XCTSkip("PyTorch not importable (pip install torch)") }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let jobs = BenchJob.standard.filter(\.hasTorchTwin)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", root.appendingPathComponent("tools/bench_torch.py").path, "--count-params",
                       "--jobs", jobs.map(\.description).joined(separator: ",")]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let torchCounts = try JSONDecoder().decode([String: Int].self, from: data)
        XCTAssertEqual(torchCounts, Bench.expectedParameters(jobs))
    }

    func testJobNamesRoundTrip() {
        for job in BenchJob.standard { XCTAssertEqual(BenchJob(job.description), job) }
        XCTAssertNil(BenchJob("model:no-such-preset"))
        XCTAssertNil(BenchJob("scalekd:resnet-mini:resnet-mini"))  // not a teacher
        // A table run's configuration travels to the child process whole (Table 15's step cells).
        let config = RunConfig(model: "resnet-mini", split: DataSplit(train: .student, perClass: 3), strategy: .traditional, epochs: 1,
                               batchSize: 4, seed: 0, method: MethodConfig(name: .fd), teacher: "swin-mini-s", scale: .ci)
        let job = BenchJob.runStep(config)
        XCTAssertFalse(job.description.dropFirst("runstep:".count).contains(":"))
        XCTAssertEqual(BenchJob(job.description), job)
        XCTAssertNil(BenchJob("runstep:bm90IGpzb24="))  // base64 of "not json"
    }

    /// The step job builds the run's objective with an untrained teacher and times it.
    func testConfigStepMeasures() throws {
        let config = RunConfig(model: "resnet-mini", split: DataSplit(train: .student, perClass: 3), strategy: .traditional, epochs: 1,
                               batchSize: 4, seed: 0, method: MethodConfig(name: .scalekd), teacher: "swin-mini-s", scale: .ci)
        let row = try Bench.configStep(config, repeats: 1)
        XCTAssertGreaterThan(row.ours, 0)
        XCTAssertGreaterThan(row.peakRSSMiB, 0)
        XCTAssertTrue(row.name.contains(config.key))
    }
}

/// The side-by-side table's ratio is the median of the rounds' ratios, not the ratio of medians.
final class BenchTableTests: XCTestCase {
    func testRatioIsMedianOfRoundRatiosWithRange() {
        var row = BenchRow(name: "train m", unit: "images/s", ours: 0, peakRSSMiB: 1)
        row.oursRounds = [100, 300, 200]
        row.torchRounds = [100, 100, 400]
        row.ours = Bench.median(row.oursRounds!)
        row.torch = Bench.median(row.torchRounds!)
        XCTAssertEqual(row.roundRatios, [1, 3, 0.5])
        XCTAssertEqual(row.ratio, 1)  // ratio of the medians would be 2
        let table = Bench.table([row])
        XCTAssertTrue(table.contains("| 1.00 | 0.50-3.00 |"), table)
        XCTAssertTrue(table.contains("geometric mean 1.00, min 1.00"), table)
    }

    func testSingleMeasurementRatio() {
        let row = BenchRow(name: "train m", unit: "images/s", ours: 150, torch: 100, peakRSSMiB: 1)
        XCTAssertEqual(row.ratio, 1.5)
        XCTAssertNil(BenchRow(name: "x", unit: "images/s", ours: 1, peakRSSMiB: 1).ratio)
    }
}

/// The A/B pairs of the engine's kernels and oneDNN get a table of their own (not the
/// PyTorch one), with oneDNN / own as the median of the rounds' ratios.
final class BackendABTests: XCTestCase {
    func testPairsFormTheirOwnTable() {
        func row(_ name: String, _ rounds: [Double]) -> BenchRow {
            var r = BenchRow(name: name, unit: "images/s", ours: Bench.median(rounds), peakRSSMiB: 1)
            r.oursRounds = rounds
            return r
        }
        let rows = [row("train resnet-mini [SCALEKD_CONV=native]", [100, 200, 100]), row("train resnet-mini [SCALEKD_CONV=dnnl]", [150, 200, 120]),
                    row("train resnet-mini", [200, 200, 100])]
        let table = Bench.table(rows)
        XCTAssertTrue(table.contains("| train resnet-mini | SCALEKD_CONV | images/s | 100.0 | 150.0 | 1.20 | 1.00-1.50 | 1.00 | 1.00-2.00 |  |"), table)
        XCTAssertFalse(table.contains("| train resnet-mini [SCALEKD_CONV"), table)
        XCTAssertEqual(BenchJob("model-ab:vit-mini-s:gemm=openblas"), .modelAB("vit-mini-s", .gemm, "openblas"))
        XCTAssertNil(BenchJob("model-ab:vit-mini-s:gemm=native"))
    }
}
