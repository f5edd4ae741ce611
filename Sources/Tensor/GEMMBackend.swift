import Foundation

/// Which library runs a GEMM block (BLAS.sgemm, after its split over the loop threads):
/// OpenBLAS, or oneDNN's sgemm on the calling thread alone.
///
/// SCALEKD_GEMM picks: `openblas`, `dnnl`, or `auto` (the default): oneDNN for the blocks a
/// committed rule names for this process's kernel variant (KernelISA), OpenBLAS for the rest
/// and on variants nobody measured. A committed rule and not a race at start-up, for the
/// reason ConvBackend gives: the libraries round differently and runs must repeat. CI pins
/// SCALEKD_GEMM=openblas.
public enum GEMMBackend: String, CaseIterable, Sendable {
    case openblas, dnnl

    /// What SCALEKD_GEMM asks for.
    public enum Policy: String, CaseIterable, Sendable { case openblas, dnnl, auto }

    /// auto's rule per kernel variant: oneDNN for blocks of at least `minimumWork`
    /// multiply-adds whose C has at least `minimumSide` rows and columns. On the AVX2 host
    /// (AMD EPYC, Zen 3; one thread, thread CPU time, medians of 15) oneDNN ran 1.1-1.7x
    /// OpenBLAS's Haswell kernel from 64x64x64 up (the transformers' projections, e.g.
    /// 4096x256x64 86 vs 73 GFLOP/s; im2col GEMMs; 65536x64x16 54 vs 32) and 0.5-0.7x on
    /// window attention's 16x16x16; 32x32x32 and 8x512x64 were even or worse.
    /// avx512 (Intel Xeon, family 6 model 207, against OpenBLAS's SkylakeX kernel; `scalekd
    /// bench --only gemm-backends`, 2 threads, quiet, medians of 3, 2026-12-07): the same split.
    /// oneDNN 1.14-1.21x on the projections and im2col blocks (8192x256x64, 2048x512x128,
    /// 64x256x576), 1.61x on 131072x64x16, even on 49x49x32 (0.99), 0.26-0.69x on 16x16x16.
    /// Whole models with every GEMM on oneDNN: vit-mini-s training 1.07x, swin-mini-t 1.05x.
    static let rules: [String: (minimumWork: Int, minimumSide: Int)] = [
        "avx2": (1 << 16, 16),
        "avx512": (1 << 16, 16),
    ]

    /// SCALEKD_GEMM, read once (an unknown value stops the process, exit status 2).
    public static let policy: Policy = environmentPolicy("SCALEKD_GEMM", default: .auto)

    /// Set by tests and benchmarks to force one library in this process.
    nonisolated(unsafe) static var forced: GEMMBackend?

    /// Runs `body` with every GEMM on `backend` (not for concurrent use).
    public static func using<T>(_ backend: GEMMBackend, _ body: () throws -> T) rethrows -> T {
        let was = forced
        forced = backend
        defer { forced = was }
        return try body()
    }

    /// The library of one m x n x k block.
    @inline(__always)
    static func choice(m: Int, n: Int, k: Int) -> GEMMBackend {
        if let forced { return forced }
        switch policy {
        case .openblas: return .openblas
        case .dnnl: return .dnnl
        case .auto:
            guard let rule = rules[KernelISA.info.name] else { return .openblas }
            return m * n * k >= rule.minimumWork && Swift.min(m, n) >= rule.minimumSide ? .dnnl : .openblas
        }
    }

    /// The policy and, under auto, its rule here: for env reports and provenance.
    public static var summary: String {
        guard policy == .auto else { return "\(policy.rawValue) (SCALEKD_GEMM)" }
        let isa = KernelISA.info.name
        guard let rule = rules[isa] else { return "auto (\(isa)): OpenBLAS for every GEMM" }
        return "auto (\(isa) rule): oneDNN for blocks of >= \(rule.minimumWork) multiply-adds with C at least "
            + "\(rule.minimumSide)x\(rule.minimumSide), OpenBLAS for the rest"
    }
}

/// A backend setting from the environment: `name` unset or empty gives `default`; a value
/// naming no case stops the process (exit status 2) with a message, as a bad SCALEKD_ISA does.
func environmentPolicy<P: RawRepresentable & CaseIterable>(_ name: String, default value: P) -> P where P.RawValue == String {
    let text = ProcessInfo.processInfo.environment[name] ?? ""
    if text.isEmpty { return value }
    guard let p = P(rawValue: text) else {
        let allowed = P.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("scalekd: \(name)=\(text) names no setting (\(allowed))\n".utf8))
        exit(2)
    }
    return p
}
