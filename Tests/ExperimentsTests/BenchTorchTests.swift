import Experiments
import Foundation
import XCTest

/// The PyTorch presets of tools/bench_torch.py must be the zoo's, or `make bench`
/// compares different networks. Counts only: timing belongs to the bench, not the tests.
final class BenchTorchTests: XCTestCase {
    func testPyTorchPresetsHaveOurParameterCounts() throws {
        guard Bench.torchImportable else { throw XCTSkip("PyTorch not importable (pip install torch)") }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let jobs = BenchJob.standard
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
    }
}
