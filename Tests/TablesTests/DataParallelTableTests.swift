import Foundation
import Tables
import Training
import XCTest

/// A table trained under `mpirun -np N` keys its runs by N; one process assembles it with
/// `--ranks N` (TableRunner.ranks) and refuses to train a missing run keyed for N ranks.
/// The training itself on 2 ranks is tools/mpi_test.sh's (CI's `make mpi-test`).
final class DataParallelTableTests: XCTestCase {
    func testRankCountEntersKeysAndAMissingRunIsRefused() throws {
        let dir = NSTemporaryDirectory() + "ranks-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try minimalSpec.write(toFile: dir + "/table99.yaml", atomically: true, encoding: .utf8)
        let spec = try TableSpec.load(dir + "/table99.yaml")
        let runner = try TableRunner(spec: spec, scale: .ci, cache: RunCache(root: dir + "/runs", store: nil),
                                     outputDirectory: dir + "/out", data: try DataCatalog())
        let one = try runner.configs()
        runner.ranks = 2
        let two = try runner.configs()
        XCTAssertEqual(two.map(\.worldSize), one.map { _ in 2 })
        XCTAssertTrue(zip(one, two).allSatisfy { $0.key != $1.key }, "the rank count must change every key")
        XCTAssertThrowsError(try runner.trainAvailable()) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("keyed for 2 data-parallel ranks") && text.contains("mpirun -np 2") && text.contains(two[0].key), text)
        }
        XCTAssertThrowsError(try runner.run(), "assembling must not train a 2-rank run in one process")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/runs/" + two[0].key), "nothing was trained")
    }
}
