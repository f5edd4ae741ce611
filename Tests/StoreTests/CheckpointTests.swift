import XCTest
@testable import Store

final class CheckpointTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "checkpoint-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        _ = try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        try? FileManager.default.removeItem(atPath: directory)
    }

    func sample(step: Int = 120) -> Checkpoint {
        Checkpoint(
            parameters: [
                "stem.conv.weight": NamedArray(shape: [2, 1, 2, 2], values: [0.5, -1.25, 2, 3, 4, 5, 6, 7.75]),
                "stages.2.blocks.0.attn.qkv.weight": NamedArray(shape: [3, 2], values: [1, 2, 3, 4, 5, 6]),
                "head.bias": NamedArray(shape: [3], values: [0.1, 0.2, 0.3]),
                "scale": NamedArray(shape: [], values: [2]),
            ],
            optimizerState: ["m.head.bias": NamedArray(shape: [3], values: [0, 0, 1e-8])],
            epoch: 7, step: step, configJSON: #"{"teacher":"swin-l","lr":0.001,"seed":0}"#)
    }

    func testRoundTrip() throws {
        let path = directory + "/ckpt.h5"
        try sample().save(to: path)
        XCTAssertEqual(try Checkpoint.load(from: path), sample())
        // Saving again replaces the file and leaves no temporary files.
        try sample(step: 121).save(to: path)
        XCTAssertEqual(try Checkpoint.load(from: path).step, 121)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["ckpt.h5"])
    }

    func testReadableByH5dump() throws {
        let h5dump = ["/usr/bin/h5dump", "/usr/local/bin/h5dump"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let h5dump else { throw XCTSkip("h5dump (hdf5-tools) is not installed") }
        let path = directory + "/ckpt.h5"
        try sample().save(to: path)
        func dump(_ args: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: h5dump)
            process.arguments = args + [path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0)
            return String(decoding: data, as: UTF8.self)
        }
        // -y: no indices, -w 0: one line; the values follow "DATA {".
        let text = try dump(["-y", "-w", "0", "-d", "/params/stem.conv.weight"])
        XCTAssertTrue(text.contains("DATASPACE  SIMPLE { ( 2, 1, 2, 2 ) / ( 2, 1, 2, 2 ) }"), text)
        XCTAssertTrue(text.contains("H5T_IEEE_F32LE"), text)
        let body = text.components(separatedBy: "DATA {").last!.components(separatedBy: "}").first!
        let values = body.split(whereSeparator: { ", \n".contains($0) }).compactMap { Float($0) }
        XCTAssertEqual(values, sample().parameters["stem.conv.weight"]!.values)
        let attribute = try dump(["-a", "/step"])
        XCTAssertTrue(attribute.contains("120"), attribute)
        let config = try dump(["-a", "/config"])
        XCTAssertTrue(config.contains(#""teacher":"swin-l""#), config)
    }

    func assertLoad(_ path: String, throws expected: (StoreError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Checkpoint.load(from: path), file: file, line: line) { error in
            guard let e = error as? StoreError else { return XCTFail("not a StoreError: \(error)", file: file, line: line) }
            XCTAssertTrue(expected(e), "unexpected: \(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains(path), "error names the file: \(e)", file: file, line: line)
        }
    }

    func testMissingFile() {
        assertLoad(directory + "/nope.h5") { $0 == .fileNotFound(path: self.directory + "/nope.h5") }
    }

    func testGarbageFile() throws {
        let path = directory + "/garbage.h5"
        try Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: path))
        assertLoad(path) { $0 == .notHDF5(path: path) }
        try Data().write(to: URL(fileURLWithPath: path))
        assertLoad(path) { if case .truncatedOrCorrupt = $0 { return true } else { return false } }
    }

    func testTruncatedFile() throws {
        let path = directory + "/ckpt.h5"
        var big = sample()
        big.parameters["big"] = NamedArray(shape: [1000], values: (0..<1000).map(Float.init))
        try big.save(to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for fraction in [0.9, 0.5, 0.2] {
            let truncated = directory + "/truncated-\(fraction).h5"
            try bytes.prefix(Int(Double(bytes.count) * fraction)).write(to: URL(fileURLWithPath: truncated))
            assertLoad(truncated) { if case .truncatedOrCorrupt = $0 { return true } else { return false } }
        }
    }

    func testForeignHDF5File() throws {
        let path = directory + "/foreign.h5"
        let file = try HDF5File.create(path)
        try file.root().write("data", shape: [2], values: [Float(1), 2])
        try file.close()
        assertLoad(path) { $0 == .notACheckpoint(path: path, reason: "no `format` attribute on /") }

        let partial = directory + "/partial.h5"
        let other = try HDF5File.create(partial)
        let root = try other.root()
        try root.setAttribute("format", string: Checkpoint.format)
        try root.setAttribute("format_version", int: 1)
        _ = try root.createGroup("params")
        try other.close()
        assertLoad(partial) { $0 == .notACheckpoint(path: partial, reason: "missing group /optimizer") }
    }

    /// Bytes flipped inside a tensor's values (which HDF5 does not check) are caught by the
    /// per-tensor CRC-32, naming the tensor; a version-1 file (no checksums) still loads.
    func testCorruptTensorValuesAreNamed() throws {
        let path = directory + "/ckpt.h5"
        var c = sample()
        let marker: [Float] = (0..<64).map { 1234.5 + Float($0) }
        c.parameters["blocks.1.mlp.fc1.weight"] = NamedArray(shape: [8, 8], values: marker)
        try c.save(to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let pattern = marker.withUnsafeBytes { [UInt8]($0) }
        guard let at = (0...(bytes.count - pattern.count)).first(where: { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) }) else {
            return XCTFail("tensor bytes not found in the file")
        }
        bytes[at + 100] ^= 0x40  // one value's exponent bit: a plausible float, a wrong weight
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        assertLoad(path) {
            $0 == .corruptTensor(path: path, tensor: "/params/blocks.1.mlp.fc1.weight",
                                 detail: "its values fail the CRC-32 stored when it was written")
        }

        // Version 1 (written before checksums): loads without a check.
        let old = directory + "/v1.h5"
        let file = try HDF5File.create(old)
        let root = try file.root()
        try root.setAttribute("format", string: Checkpoint.format)
        try root.setAttribute("format_version", int: 1)
        try root.setAttribute("epoch", int: 1)
        try root.setAttribute("step", int: 2)
        try root.setAttribute("config", string: "{}")
        try root.createGroup("params").write("w", shape: [2], values: [Float(1), 2])
        _ = try root.createGroup("optimizer")
        try file.close()
        XCTAssertEqual(try Checkpoint.load(from: old).parameters["w"]?.values, [1, 2])
    }

    func testInterruptedSaveKeepsTheOldFile() throws {
        struct Crash: Error {}
        let path = directory + "/ckpt.h5"
        try sample().save(to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try sample(step: 999).save(to: path, interrupt: { throw Crash() })) {
            XCTAssertTrue($0 is Crash)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        XCTAssertEqual(try Checkpoint.load(from: path), sample())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["ckpt.h5"], "temporary file removed")
    }

    func testSaveIntoReadOnlyDirectoryFailsCleanly() throws {
        let path = directory + "/ckpt.h5"
        try sample().save(to: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: directory)
        defer { _ = try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory) }
        if FileManager.default.isWritableFile(atPath: directory) { throw XCTSkip("running as root: permissions are not enforced") }
        XCTAssertThrowsError(try sample(step: 5).save(to: path))
        XCTAssertEqual(try Checkpoint.load(from: path), sample())
    }

    func testSlashInTensorNameIsRejected() throws {
        let path = directory + "/ckpt.h5"
        var bad = sample()
        bad.parameters["stages/0.weight"] = NamedArray(shape: [1], values: [1])
        XCTAssertThrowsError(try bad.save(to: path)) {
            guard case .invalidName(_, "stages/0.weight")? = $0 as? StoreError else { return XCTFail("\($0)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testSaveIntoMissingDirectory() {
        XCTAssertThrowsError(try sample().save(to: directory + "/no/such/dir/ckpt.h5")) {
            guard case .io? = $0 as? StoreError else { return XCTFail("\($0)") }
        }
    }
}
