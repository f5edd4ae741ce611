import Foundation
import Plot
import Store
import Tensor

/// What this process runs on: printed by `scalekd env`, written into run logs and REPORT.md.
public struct EnvironmentReport: Codable {
    public var swiftCompiler: String
    public var swiftToolchain: String
    public var cpu: String
    public var vectorExtensions: [String]
    public var cores: Int
    public var blasLibrary: String
    public var blasKernel: String
    public var blasKernelRequested: String
    public var blasKernelReason: String
    public var blasConfig: String
    public var blasThreads: Int
    /// The variant of the engine's own C kernels (KernelISA) and what chose it.
    public var kernelISA: String
    public var kernelISAReason: String
    /// Which convolutions run on oneDNN (ConvBackend: SCALEKD_CONV and, under auto, the table).
    public var convBackend: String
    /// Which GEMM blocks run on oneDNN (GEMMBackend: SCALEKD_GEMM and, under auto, the rule).
    public var gemmBackend: String
    /// Which code computes attention (AttentionBackend: SCALEKD_ATTENTION).
    public var attention: String
    public var onednn: String
    public var loopThreads: Int
    public var fftw: String
    public var libpng: String
    public var hdf5: String
    public var extra: [String: String] = [:]

    public static func current() -> EnvironmentReport {
        let blas = BLAS.info, isa = KernelISA.info
        return EnvironmentReport(
            swiftCompiler: compiledWith, swiftToolchain: toolchainVersion(),
            cpu: "\(CPU.brand) (\(CPU.identity))", vectorExtensions: CPU.vectorExtensions,
            cores: ProcessInfo.processInfo.activeProcessorCount,
            blasLibrary: blas.libraryPath, blasKernel: blas.coreName,
            blasKernelRequested: blas.requestedCoreType, blasKernelReason: blas.reason,
            blasConfig: blas.config, blasThreads: blas.threads,
            kernelISA: isa.name, kernelISAReason: isa.reason, convBackend: ConvBackend.summary, gemmBackend: GEMMBackend.summary,
            attention: AttentionBackend.summary, onednn: ConvBackend.libraryVersion,
            loopThreads: Parallel.threads,
            fftw: FFTW.version, libpng: PNGWriter.libraryVersion, hdf5: HDF5File.libraryVersion)
    }

    /// Lines of "key: value" for terminals and logs.
    public var lines: [(String, String)] {
        [("swift (compiled with)", swiftCompiler), ("swift toolchain", swiftToolchain),
         ("cpu", cpu), ("vector extensions", vectorExtensions.joined(separator: " ")), ("cores", "\(cores)"),
         ("blas library", blasLibrary), ("blas kernel", "\(blasKernel) (requested \(blasKernelRequested): \(blasKernelReason))"),
         ("blas config", blasConfig), ("native kernels", "\(kernelISA) (\(kernelISAReason); SCALEKD_ISA may name \(KernelISA.supported.joined(separator: ", ")))"), ("conv backend", "\(convBackend); SCALEKD_CONV may name native, dnnl, auto"),
         ("gemm backend", "\(gemmBackend); SCALEKD_GEMM may name openblas, dnnl, auto"),
         ("attention", "\(attention); SCALEKD_ATTENTION may name fused, composed, auto"), ("onednn", onednn),
         ("blas threads", blasThreads == 1 ? "1 (large GEMMs are split over the loop threads)" : "\(blasThreads)"), ("loop threads", "\(loopThreads)"),
         ("fftw", fftw), ("libpng", libpng), ("hdf5", hdf5)] + extra.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    static var compiledWith: String {
        #if compiler(>=6.4)
        return ">= 6.4"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #else
        return "< 6.2"
        #endif
    }

    /// `swift --version` of the toolchain on PATH, if there is one.
    static func toolchainVersion() -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["swift", "--version"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = Pipe()
        do { try p.run() } catch { return "not found" }
        p.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return out.split(separator: "\n").first.map(String.init) ?? "unknown"
    }
}
