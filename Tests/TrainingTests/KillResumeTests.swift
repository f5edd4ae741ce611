import Foundation
import XCTest

/// `kill -9` a real `scalekd train` process mid-epoch, rerun the same command: it resumes
/// and ends with weights and accuracy bit-identical to an uninterrupted run.
final class KillResumeTests: XCTestCase {
    /// The `scalekd` product built beside the test bundle (.build/<triple>/<config>/);
    /// `make test` builds it before running the tests.
    var executable: URL {
        let bundle = Bundle(for: KillResumeTests.self).bundleURL
        let candidates = [bundle.appendingPathComponent("scalekd"),
                          bundle.deletingLastPathComponent().appendingPathComponent("scalekd")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    func command(_ runs: String, extra: [String] = []) -> Process {
        let p = Process()
        p.executableURL = executable
        p.arguments = ["train", "--model", "resnet-mini", "--scale", "ci", "--epochs", "3", "--runs", runs] + extra
        p.currentDirectoryURL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        return p
    }

    func runDirectory(_ runs: String) throws -> String {
        let dirs = try FileManager.default.contentsOfDirectory(atPath: runs).filter { !$0.hasPrefix(".") }
        XCTAssertEqual(dirs.count, 1)
        return runs + "/" + dirs[0]
    }

    func testKillDashNineMidEpochThenResume() throws {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            return XCTFail("no scalekd binary at \(executable.path): build it first (`make test` does)")
        }
        let tmp = NSTemporaryDirectory() + "scalekd-kill-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let straight = command(tmp + "/straight")
        try straight.run()
        straight.waitUntilExit()
        XCTAssertEqual(straight.terminationStatus, 0)
        let reference = try runDirectory(tmp + "/straight")

        // Checkpoints every step (--checkpoint-seconds 0) so the kill lands between a
        // mid-epoch checkpoint and the next; then once more with epoch-end checkpoints only.
        for (name, extra) in [("fresh", ["--checkpoint-seconds", "0"]), ("stale", [])] {
            let runs = tmp + "/" + name
            let victim = command(runs, extra: extra)
            try victim.run()
            let deadline = Date().addingTimeInterval(120)
            var dir: String? = nil
            while Date() < deadline {
                if let d = try? runDirectory(runs), FileManager.default.fileExists(atPath: d + "/checkpoint.h5") { dir = d; break }
                usleep(20_000)
            }
            XCTAssertNotNil(dir, "\(name): no checkpoint appeared")
            usleep(150_000)  // into the next steps
            kill(victim.processIdentifier, SIGKILL)
            victim.waitUntilExit()
            XCTAssertEqual(victim.terminationReason, .uncaughtSignal, "\(name): the run finished before the kill")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir! + "/result.json"))
            let again = command(runs, extra: extra)
            try again.run()
            again.waitUntilExit()
            XCTAssertEqual(again.terminationStatus, 0)
            let a = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir! + "/result.json"))) as! [String: Any]
            let b = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: reference + "/result.json"))) as! [String: Any]
            XCTAssertEqual(a["top1"] as? Double, b["top1"] as? Double, "\(name): accuracy differs after kill and resume")
            // The final checkpoints hold the same tensors (the files differ only in wall time).
            let h5 = ["h5dump", "-d", "/params/fc.weight", "-y"]
            XCTAssertEqual(try dump(h5, dir! + "/checkpoint.h5"), try dump(h5, reference + "/checkpoint.h5"), "\(name): weights differ")
        }
    }

    func dump(_ args: [String], _ file: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args + [file]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return out.replacingOccurrences(of: file, with: "")
    }
}
