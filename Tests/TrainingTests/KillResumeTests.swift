import Foundation
import Store
import XCTest

/// `kill -9` a real `scalekd` process (between checkpoints, and halfway through a checkpoint
/// write), rerun the same command: it resumes and ends with tensors and accuracy identical
/// to an uninterrupted run. Covered: a ResNet (no stochastic layers), a Swin (drop path)
/// and a ScaleKD distillation (student, projectors and their optimizer state).
final class KillResumeTests: XCTestCase {
    /// The `scalekd` product built beside the test bundle (.build/<triple>/<config>/);
    /// `make test` builds it before running the tests.
    var executable: URL {
        let bundle = Bundle(for: KillResumeTests.self).bundleURL
        let candidates = [bundle.appendingPathComponent("scalekd"),
                          bundle.deletingLastPathComponent().appendingPathComponent("scalekd")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    var tmp = ""

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw XCTSkip("no scalekd binary at \(executable.path): build it first (`make test` does)")
        }
        tmp = NSTemporaryDirectory() + "scalekd-kill-\(getpid())-\(UUID().uuidString.prefix(8))"
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: tmp) }

    func process(_ arguments: [String], runs: String, environment: [String: String] = [:]) -> Process {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments + ["--scale", "ci", "--runs", runs]
        p.currentDirectoryURL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        return p
    }

    /// The run folder of `model` (a distillation's cache also holds its ci teacher's run).
    func runDirectory(_ runs: String, model: String) -> String? {
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: runs).filter { !$0.hasPrefix(".") }) ?? []
        return dirs.map { runs + "/" + $0 }.first { dir in
            guard let data = FileManager.default.contents(atPath: dir + "/config.json"),
                  let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
            return config["model"] as? String == model
        }
    }

    func runToEnd(_ arguments: [String], runs: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let p = process(arguments, runs: runs)
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "\(arguments) in \(runs)", file: file, line: line)
    }

    /// How a victim dies: SIGKILL `after` seconds past its first checkpoint, or by itself
    /// halfway through its n-th checkpoint write.
    enum Kill: CustomStringConvertible {
        case afterFirstCheckpoint(seconds: Double)
        case duringCheckpointWrite(Int)

        var description: String {
            switch self {
            case .afterFirstCheckpoint(let s): return "kill -9 \(s) s after the first checkpoint"
            case .duringCheckpointWrite(let n): return "kill -9 during checkpoint write \(n)"
            }
        }
    }

    /// Runs `arguments` uninterrupted once, then once per kill sequence: each kill in turn
    /// stops a run of the same command in a fresh cache (holding a copy of the reference's
    /// other runs, i.e. the ci teacher), and a last run finishes it. Tensors and accuracy
    /// must equal the reference's.
    func checkResume(_ arguments: [String], model: String, sequences: [[Kill]],
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let reference = tmp + "/reference"
        try runToEnd(arguments, runs: reference)
        guard let done = runDirectory(reference, model: model) else { return XCTFail("no reference run", file: file, line: line) }
        let fm = FileManager.default
        for (index, kills) in sequences.enumerated() {
            let runs = tmp + "/victim\(index)"
            try fm.createDirectory(atPath: runs, withIntermediateDirectories: true)
            for other in try fm.contentsOfDirectory(atPath: reference) where reference + "/" + other != done && !other.hasPrefix(".") {
                try fm.copyItem(atPath: reference + "/" + other, toPath: runs + "/" + other)
            }
            let label = kills.map(\.description).joined(separator: ", then ")
            for kill in kills {
                switch kill {
                case .afterFirstCheckpoint(let seconds):
                    let victim = process(arguments, runs: runs)
                    let before = runDirectory(runs, model: model).flatMap { try? Data(contentsOf: URL(fileURLWithPath: $0 + "/checkpoint.h5")) }
                    try victim.run()
                    let deadline = Date().addingTimeInterval(120)
                    while Date() < deadline {
                        if let d = runDirectory(runs, model: model), let now = try? Data(contentsOf: URL(fileURLWithPath: d + "/checkpoint.h5")),
                           now != before { break }
                        usleep(10_000)
                    }
                    usleep(UInt32(seconds * 1e6))
                    Foundation.kill(victim.processIdentifier, SIGKILL)
                    victim.waitUntilExit()
                    XCTAssertEqual(victim.terminationReason, .uncaughtSignal, "\(label): the run finished before the kill", file: file, line: line)
                case .duringCheckpointWrite(let n):
                    let victim = process(arguments, runs: runs, environment: ["SCALEKD_KILL_IN_CHECKPOINT": "\(n)"])
                    try victim.run()
                    victim.waitUntilExit()
                    XCTAssertEqual(victim.terminationReason, .uncaughtSignal, "\(label): the hook did not fire", file: file, line: line)
                    let dir = runDirectory(runs, model: model)!
                    let leftovers = try fm.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp") }
                    XCTAssertFalse(leftovers.isEmpty, "\(label): the kill should leave the half-written temporary file", file: file, line: line)
                }
            }
            let dir = runDirectory(runs, model: model)!
            XCTAssertFalse(fm.fileExists(atPath: dir + "/result.json"), "\(label): finished before the last kill", file: file, line: line)
            try runToEnd(arguments, runs: runs, file: file, line: line)
            XCTAssertTrue(try fm.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp") }.isEmpty,
                          "\(label): temporary files left", file: file, line: line)
            try assertSameRun(dir, done, label, file: file, line: line)
        }
    }

    /// Same accuracy, and the same tensors in the final checkpoints (the files differ in the
    /// recorded wall time only).
    func assertSameRun(_ a: String, _ b: String, _ label: String, file: StaticString, line: UInt) throws {
        func top1(_ dir: String) throws -> Double? {
            let r = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/result.json"))) as? [String: Any]
            return r?["top1"] as? Double
        }
        XCTAssertEqual(try top1(a), try top1(b), "\(label): accuracy differs after resume", file: file, line: line)
        let ca = try Checkpoint.load(from: a + "/checkpoint.h5"), cb = try Checkpoint.load(from: b + "/checkpoint.h5")
        // Bit patterns: the curve stores NaN for epochs without a test pass, and NaN != NaN.
        func differing(_ x: [String: NamedArray], _ y: [String: NamedArray]) -> [String] {
            Set(x.keys).union(y.keys).filter { k in
                x[k]?.shape != y[k]?.shape || x[k]?.values.map(\.bitPattern) != y[k]?.values.map(\.bitPattern)
            }.sorted()
        }
        XCTAssertEqual(differing(ca.parameters, cb.parameters), [], "\(label): parameters differ", file: file, line: line)
        XCTAssertEqual(differing(ca.optimizerState, cb.optimizerState).filter { $0 != "_run.wall_seconds" }, [],
                       "\(label): optimizer state or curve differs", file: file, line: line)
        XCTAssertEqual(ca.step, cb.step, file: file, line: line)
    }

    func testResNetResumesBitIdentically() throws {
        try checkResume(["train", "--model", "resnet-mini", "--epochs", "3", "--checkpoint-seconds", "0"], model: "resnet-mini",
                        sequences: [[.afterFirstCheckpoint(seconds: 0.15)], [.duringCheckpointWrite(5)]])
        try FileManager.default.removeItem(atPath: tmp)
        // Epoch-end checkpoints only: the kill lands well past the last one.
        try checkResume(["train", "--model", "resnet-mini", "--epochs", "3"], model: "resnet-mini",
                        sequences: [[.afterFirstCheckpoint(seconds: 0.15)]])
    }

    /// Drop path draws restart from (seed, step), so a stochastic family resumes exactly.
    func testSwinWithDropPathResumesBitIdentically() throws {
        try checkResume(["train", "--model", "swin-mini-t", "--epochs", "3", "--checkpoint-seconds", "0"], model: "swin-mini-t",
                        sequences: [[.afterFirstCheckpoint(seconds: 0.3), .afterFirstCheckpoint(seconds: 0.3)],
                                    [.duringCheckpointWrite(4), .duringCheckpointWrite(3)]])
    }

    /// A distillation: the student, the CAP/DFM projectors and their optimizer state.
    func testScaleKDDistillationResumesBitIdentically() throws {
        try checkResume(["distill", "--teacher", "swin-mini-s", "--student", "resnet-mini", "--epochs", "2", "--checkpoint-seconds", "0"],
                        model: "resnet-mini",
                        sequences: [[.duringCheckpointWrite(3), .afterFirstCheckpoint(seconds: 0.3)]])
    }
}
