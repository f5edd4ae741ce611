import Foundation
import XCTest

/// Bad values on the command line end with a clear message and exit code 1 before any
/// work: no crash (signal), no run folder, no training at defaults under a new key.
final class BadInputTests: XCTestCase {
    var executable: URL {
        let bundle = Bundle(for: BadInputTests.self).bundleURL
        let candidates = [bundle.appendingPathComponent("scalekd"),
                          bundle.deletingLastPathComponent().appendingPathComponent("scalekd")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// Runs scalekd with `arguments`; returns (exit status, termination reason, stdout + stderr).
    func run(_ arguments: [String]) throws -> (Int32, Process.TerminationReason, String) {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        p.currentDirectoryURL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, p.terminationReason, String(decoding: data, as: UTF8.self))
    }

    func testBadValuesAreRefusedWithAMessage() throws {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            return XCTFail("no scalekd binary at \(executable.path): build it first (`make test` does)")
        }
        let runs = NSTemporaryDirectory() + "scalekd-bad-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: runs) }
        let train = ["train", "--model", "resnet-mini", "--scale", "ci", "--runs", runs]
        let cases: [([String], String)] = [
            (train + ["--epochs", "0"], "--epochs must be at least 1 (got 0)"),
            (train + ["--epochs=-1"], "--epochs must be at least 1 (got -1)"),
            (train + ["--batch-size", "0"], "--batch-size must be at least 1 (got 0)"),
            (train + ["--batch-size=-5"], "--batch-size must be at least 1 (got -5)"),
            (train + ["--batch-size", "5000"], "larger than the 200 training images"),
            (train + ["--checkpoint-seconds=-1"], "--checkpoint-seconds must be >= 0"),
            (train + ["--strategy", "fancy"], "unknown strategy 'fancy'"),
            (["train", "--model", "resnet-mini", "--scale", "huge", "--runs", runs], "unknown scale 'huge'"),
            (["train", "--model", "resnet-maxi", "--scale", "ci", "--runs", runs], "unknown model 'resnet-maxi'; models: resnet-mini"),
            (["train", "--model", "resnet50", "--scale", "ci", "--runs", runs], "is a paper-size preset"),
            (["distill", "--teacher", "swin-mini-l", "--student", "resnet-mini", "--method", "scalekdd", "--scale", "ci", "--runs", runs],
             "unknown method 'scalekdd'; methods: baseline, kd, fd, dkd, dist, scalekd"),
            (["distill", "--teacher", "resnet-mini", "--student", "vit-mini-s", "--scale", "ci", "--runs", runs],
             "'resnet-mini' cannot be a teacher; teachers:"),
            (["run", "table99", "--scale", "ci", "--runs", runs], "tables/table99.yaml does not exist"),
            (["run", "tablefoo", "--scale", "ci", "--runs", runs], "name a table: table3, table03 or 3"),
            (["run", "table3", "--scale", "ci", "--jobs", "0", "--runs", runs], "--jobs must be at least 1 (got 0)"),
            (["run", "table3", "--scale", "ci", "--seeds", "0", "--runs", runs], "--seeds must be at least 1 (got 0)"),
        ]
        for (arguments, message) in cases {
            let (status, reason, output) = try run(arguments)
            XCTAssertEqual(reason, .exit, "\(arguments): crashed (\(output))")
            XCTAssertEqual(status, 1, "\(arguments): exit status \(status), output: \(output)")
            XCTAssertTrue(output.contains(message), "\(arguments): expected '\(message)', got: \(output)")
            let left = (try? FileManager.default.contentsOfDirectory(atPath: runs)) ?? []
            XCTAssertTrue(left.isEmpty, "\(arguments) left \(left) in the run cache")
        }
    }
}
