import CNative
import Foundation

/// OpenBLAS, loaded on first use with the fastest correct kernel for this CPU.
///
/// Debian's OpenBLAS 0.3.21 does not recognise recent AMD/Intel CPUs and falls back to a
/// generic kernel (~33 GFLOP/s on 2 cores here); naming the kernel gives ~220 GFLOP/s.
/// Choice, in order: SCALEKD_BLAS_CORETYPE, an OPENBLAS_CORETYPE already set by the
/// user, then the CPU's flags.
public enum BLAS {
    public struct Info: Sendable {
        public var requestedCoreType: String
        public var reason: String
        public var coreName: String
        public var config: String
        public var libraryPath: String
        public var threads: Int
    }

    private static let loaded: Info = load()

    /// Loads the library (once) and reports what it is running.
    public static var info: Info { loaded }

    /// The kernel name OpenBLAS should use, from the CPU's flags.
    public static func coreTypeForThisCPU() -> String {
        func has(_ f: String) -> Bool { skd_cpu_has(f) != 0 }
        if has("avx512f") && has("avx512bw") && has("avx512vl") && has("avx512dq") { return "SkylakeX" }
        if has("avx2") && has("fma") { return "Haswell" }
        if has("avx") { return "SandyBridge" }
        #if arch(x86_64)
        return "Prescott"
        #else
        return ""
        #endif
    }

    private static func load() -> Info {
        let env = ProcessInfo.processInfo.environment
        var requested = "", reason = ""
        if let o = env["SCALEKD_BLAS_CORETYPE"], !o.isEmpty {
            requested = o; reason = "SCALEKD_BLAS_CORETYPE"
        } else if let o = env["OPENBLAS_CORETYPE"], !o.isEmpty {
            requested = o; reason = "OPENBLAS_CORETYPE (set before start)"
        } else {
            requested = coreTypeForThisCPU(); reason = "chosen from CPU flags"
        }
        var err = [CChar](repeating: 0, count: 512)
        if skd_blas_load(requested.isEmpty ? nil : requested, &err, err.count) != 0 {
            fatalError(String(cString: err))
        }
        // OpenBLAS's own threads woke for every GEMM, many of them tiny (a conv per image,
        // attention per window), and spun between them; the engine's loop threads split
        // the large GEMMs instead (sgemm below) and run small ones side by side.
        skd_blas_set_threads(1)
        if let t = env["SCALEKD_THREADS"], let n = Int(t), n > 0 { Parallel.threads = n }
        return Info(requestedCoreType: requested, reason: reason,
                    coreName: String(cString: skd_blas_corename()),
                    config: String(cString: skd_blas_config()),
                    libraryPath: String(cString: skd_blas_library_path()),
                    threads: Int(skd_blas_get_threads()))
    }

    /// Products below this many multiply-adds run as one call on the calling thread
    /// (OpenBLAS's own threshold for threading).
    static let splitWork = 64 * 64 * 64

    /// SCALEKD_GEMM_PROFILE=1: time every GEMM by shape (`gemmProfile()` reports them), to
    /// see which shapes run far below the kernel's peak.
    public static let profiling = ProcessInfo.processInfo.environment["SCALEKD_GEMM_PROFILE"] != nil
    nonisolated(unsafe) private static var profile: [String: (seconds: Double, calls: Int, flops: Double)] = [:]
    private static let profileLock = NSLock()

    /// The `top` GEMM shapes by total time: seconds (summed over threads), calls, GFLOP/s
    /// per call, shape ("NT" = B transposed; nested = run on one loop thread).
    public static func gemmProfile(top: Int = 30) -> String {
        profileLock.lock(); defer { profileLock.unlock() }
        let rows = profile.sorted { $0.value.seconds > $1.value.seconds }.prefix(top).map { key, v in
            String(format: "%8.3f s %8d calls %7.1f GFLOP/s  ", v.seconds, v.calls, v.flops / v.seconds / 1e9) + key
        }
        // Calls of under a microsecond also carry the profiler's own cost (key, lock, cache):
        // window attention's 16x16x24 shows ~0.6 us here, 0.29 us timed alone in a C loop.
        return (["GEMM time by shape (SCALEKD_GEMM_PROFILE; calls under ~1 us read slower than they run):"] + rows)
            .joined(separator: "\n")
    }

    /// Row-major C[m,n] = alpha * op(A) op(B) + beta * C; each block on OpenBLAS or oneDNN
    /// (GEMMBackend, SCALEKD_GEMM).
    @inline(__always)
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if !profiling {
            sgemmUntimed(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let start = DispatchTime.now().uptimeNanoseconds
        sgemmUntimed(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let key = "\(transA ? "T" : "N")\(transB ? "T" : "N") m=\(m) n=\(n) k=\(k)\(Parallel.isNested ? " nested" : "")"
        profileLock.lock()
        let old = profile[key] ?? (0, 0, 0)
        profile[key] = (old.seconds + seconds, old.calls + 1, old.flops + 2 * Double(m) * Double(n) * Double(k))
        profileLock.unlock()
    }

    @inline(__always)
    private static func sgemmUntimed(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = loaded
        if m == 0 || n == 0 { return }
        if k == 0 {
            // C = beta C on the m x n block only (ldc may be wider than n).
            for i in 0..<m {
                let row = c + i * ldc
                if beta == 0 { row.update(repeating: 0, count: n) } else if beta != 1 { for j in 0..<n { row[j] *= beta } }
            }
            return
        }
        // A large product is split into blocks of C's rows (or columns, when it has more),
        // one per loop thread; each element is still one call's sum over k, in the same order.
        let splitRows = m >= n, extent = splitRows ? m : n
        let chunks = m * n * k < splitWork ? 1 : parallelChunkCount(extent, grain: 32)
        if chunks == 1 {
            block(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        // Blocks are whole multiples of 16 rows/columns (the AVX-512 kernel's tile).
        let per = ((extent + chunks - 1) / chunks + 15) / 16 * 16
        parallelChunks(chunks, chunks: chunks) { ci, _ in
            let lo = ci * per, hi = Swift.min(extent, lo + per)
            guard lo < hi else { return }
            if splitRows {
                block(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha, a: transA ? a + lo : a + lo * lda, lda: lda,
                      b: b, ldb: ldb, beta: beta, c: c + lo * ldc, ldc: ldc)
            } else {
                block(transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, a: a, lda: lda,
                      b: transB ? b + lo * ldb : b + lo, ldb: ldb, beta: beta, c: c + lo, ldc: ldc)
            }
        }
    }

    /// One block on the calling thread, on the library GEMMBackend names for its shape.
    @inline(__always)
    private static func block(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                              b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if GEMMBackend.choice(m: m, n: n, k: k) == .dnnl {
            DNNL.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        } else {
            skd_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        }
    }
}

public enum CPU {
    public static var brand: String {
        var buf = [CChar](repeating: 0, count: 128)
        skd_cpu_brand(&buf, buf.count)
        return String(cString: buf)
    }

    public static var vectorExtensions: [String] {
        ["sse3", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512vnni", "avx512bf16"]
            .filter { skd_cpu_has($0) != 0 } + ["amx_tile", "amx_bf16", "amx_int8"].filter { cpuinfoFlags.contains($0) }
    }

    /// Vendor, family, model and stepping from /proc/cpuinfo: the brand string of a cloud
    /// host can be as vague as "AMD EPYC", and the same name covers several generations.
    public static var identity: String {
        let fields = cpuinfoFirstEntry
        let parts = [fields["vendor_id"], fields["cpu family"].map { "family \($0)" }, fields["model"].map { "model \($0)" },
                     fields["stepping"].map { "stepping \($0)" }].compactMap { $0 }
        return parts.isEmpty ? "unknown" : parts.joined(separator: " ")
    }

    /// The first processor's "key: value" lines of /proc/cpuinfo (empty where there is none).
    static var cpuinfoFirstEntry: [String: String] {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [:] }
        var out: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { if !out.isEmpty { break } else { continue } }
            let kv = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, out[kv[0]] == nil { out[kv[0]] = kv[1] }
        }
        return out
    }

    static var cpuinfoFlags: Set<String> { Set((cpuinfoFirstEntry["flags"] ?? "").split(separator: " ").map(String.init)) }
}
