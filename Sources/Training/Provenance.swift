import Foundation

/// The engine's results version: bump it with any change that alters a run's numbers
/// (an op's arithmetic order, a default, a data split). It is part of every run key, so
/// runs of an older engine are never mixed into a table silently.
/// 1: the first analog (60k teachers). 2: validation split, 55k pre-training set,
/// per-step drop-path streams, per-teacher settings, baselines at their papers' defaults.
public enum Engine {
    public static let resultsVersion = 2
}

/// Where a run's numbers came from: the code, the engine version, the machine.
public struct Provenance: Codable, Equatable {
    public var gitCommit: String
    /// Uncommitted changes to tracked source files when the run finished.
    public var gitDirty: Bool
    public var engineVersion: Int
    public var threads: Int
    public var blasKernel: String
    /// The engine's C kernel variant (KernelISA); nil in runs recorded before it was.
    public var kernelISA: String? = nil
    /// Which convolutions ran on oneDNN (ConvBackend.summary); nil in runs recorded before there was a choice.
    public var convBackend: String? = nil
    /// Which GEMM blocks ran on oneDNN (GEMMBackend.summary); nil likewise.
    public var gemmBackend: String? = nil
    /// Which code computed attention (AttentionBackend); nil in runs recorded before there was a choice.
    public var attention: String? = nil
    public var cpu: String
    public var finished: String

    public static func current() -> Provenance {
        let env = EnvironmentReport.current()
        let commit = git(["rev-parse", "--short=12", "HEAD"]) ?? "unknown"
        let dirty = !(git(["status", "--porcelain", "--untracked-files=no", "--", "Sources", "Package.swift"]) ?? "").isEmpty
        let date = ISO8601DateFormatter().string(from: Date())
        return Provenance(gitCommit: commit, gitDirty: dirty, engineVersion: Engine.resultsVersion, threads: env.loopThreads,
                          blasKernel: env.blasKernel, kernelISA: env.kernelISA, convBackend: env.convBackend, gemmBackend: env.gemmBackend,
                          attention: env.attention, cpu: env.cpu, finished: date)
    }

    /// Output of a git command in the current directory, nil when git or the repository is missing.
    static func git(_ arguments: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
