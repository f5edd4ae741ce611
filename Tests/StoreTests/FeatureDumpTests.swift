import XCTest
@testable import Store

final class FeatureDumpTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "dump-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func features(_ n: Int, _ c: Int, _ hw: Int, offset: Float) -> [Float] {
        (0..<(n * c * hw * hw)).map { Float($0) * 0.5 + offset }
    }

    func testWriteInOneGoAndReadBack() throws {
        let path = directory + "/features.h5"
        let stages = [
            "stage3": NamedArray(shape: [5, 4, 8, 8], values: features(5, 4, 8, offset: 0)),
            "stage4": NamedArray(shape: [5, 8, 4, 4], values: features(5, 8, 4, offset: 1)),
        ]
        try FeatureDump.write(to: path, indices: [9, 3, 7, 1, 0], stages: stages, attributes: ["model": "swin-l"])
        let (indices, read) = try FeatureDump.read(from: path)
        XCTAssertEqual(indices, [9, 3, 7, 1, 0])
        XCTAssertEqual(read, stages)
        let rows = try FeatureDump.readStage("stage4", from: path, rows: 2..<4)
        XCTAssertEqual(rows.shape, [2, 8, 4, 4])
        XCTAssertEqual(rows.values, Array(stages["stage4"]!.values[(2 * 128)..<(4 * 128)]))
        XCTAssertEqual(try HDF5File.open(path).root().stringAttribute("model"), "swin-l")
    }

    func testAppendBatchesAndAtomicFinish() throws {
        let path = directory + "/appended.h5"
        let writer = try FeatureDumpWriter(path: path, stageShapes: ["s": [2, 3, 3]], chunkSamples: 4)
        var all = [Float]()
        for batch in 0..<3 {
            let values = features(6, 2, 3, offset: Float(batch * 1000))
            all += values
            try writer.append(indices: Array((batch * 6)..<(batch * 6 + 6)), features: ["s": values])
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), "nothing at the final path before finish")
        }
        XCTAssertThrowsError(try writer.append(indices: [1], features: ["s": [1]]))
        XCTAssertThrowsError(try writer.append(indices: [1], features: ["t": features(1, 2, 3, offset: 0)]))
        try writer.finish()
        XCTAssertEqual(writer.count, 18)
        let (indices, stages) = try FeatureDump.read(from: path)
        XCTAssertEqual(indices, Array(0..<18))
        XCTAssertEqual(stages["s"], NamedArray(shape: [18, 2, 3, 3], values: all))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["appended.h5"])
    }

    func testAbandonedWriterLeavesNothing() throws {
        do {
            let writer = try FeatureDumpWriter(path: directory + "/x.h5", stageShapes: ["s": [1, 2, 2]])
            try writer.append(indices: [0], features: ["s": [1, 2, 3, 4]])
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }

    func testCheckpointIsNotAFeatureDump() throws {
        let path = directory + "/ckpt.h5"
        try Checkpoint(parameters: [:], epoch: 0, step: 0, configJSON: "{}").save(to: path)
        XCTAssertThrowsError(try FeatureDump.read(from: path)) {
            guard case .notAFeatureDump? = $0 as? StoreError else { return XCTFail("\($0)") }
        }
    }
}
