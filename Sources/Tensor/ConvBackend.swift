import Foundation

/// Which implementation runs a convolution: the engine's own (im2col + OpenBLAS, the
/// direct 3x3 and depthwise C kernels) or oneDNN (ConvDNNL.swift).
///
/// SCALEKD_CONV picks: `native`, `dnnl`, or `auto` (the default): per shape class, the
/// backend a committed table names for this process's kernel variant (KernelISA: avx512,
/// avx2 or baseline, which SCALEKD_ISA pins), native where the table names none.
///
/// Why a committed table and not a race at start-up: the two backends round differently,
/// and this suite's runs must resume bit-identically and repeat across processes. A race
/// on a loaded machine can pick differently from one process to the next (a run and its
/// resume, two seeds of a table), so the numbers would depend on timing noise. The table
/// makes the choice a function of the kernel variant and the shape alone (`table` says where
/// its figures come from). oneDNN's results may depend on more than the variant (its JIT
/// may block by the cache sizes it detects), so a pinned run is bit-identical across hosts only
/// on native: CI pins SCALEKD_CONV=native, and tables/expected/ was made with it.
public enum ConvBackend: String, CaseIterable, Sendable {
    case native, dnnl

    /// What SCALEKD_CONV asks for.
    public enum Policy: String, CaseIterable, Sendable { case native, dnnl, auto }

    /// The shape classes the table decides on (the batch size plays no part), split where
    /// the measured winner differs.
    public enum ShapeClass: String, CaseIterable, Sendable {
        /// A first layer: at most 4 input channels, one group (stems and patch embeddings of images).
        case stem
        /// 3x3, stride 1, pad 1, one group, where native runs its direct kernel (cout <= 64, planes >= 8x8).
        case direct3x3
        /// Other 3x3 stride-1 convs of one group (native: im2col + GEMM).
        case gemm3x3
        /// 1x1, stride 1, no padding.
        case pointwise
        /// 1x1 with a stride above 1 (ResNet's shortcuts).
        case pointwiseStrided
        /// A stride above 1 with a kernel larger than it (overlapping windows: downsampling convs, stems).
        case strided
        /// Kernel = stride, no padding: patch embeddings of feature maps.
        case patchify
        /// 1 < groups < channels.
        case grouped
        /// Depthwise 3x3 over NCHW (MobileNet's).
        case depthwise3x3
        /// Depthwise over NCHW with a larger kernel.
        case depthwiseLarge
        /// Depthwise over [N, H, W, C] (ConvNeXt's blocks).
        case depthwiseChannelsLast
        /// Everything else (e.g. a 5x5 stride-1 conv of one group).
        case other

        init(_ geo: ConvGeometry, channelsLast: Bool) {
            let depthwise = geo.groups == geo.cin && geo.cout == geo.cin
            if channelsLast { self = .depthwiseChannelsLast; return }
            if depthwise { self = geo.kh == 3 && geo.kw == 3 ? .depthwise3x3 : .depthwiseLarge; return }
            if geo.groups > 1 { self = .grouped; return }
            if geo.cin <= 4 { self = .stem; return }
            if geo.kh == 1 && geo.kw == 1 && geo.padding == 0 { self = geo.stride == 1 ? .pointwise : .pointwiseStrided; return }
            if geo.kh == geo.stride && geo.kw == geo.stride && geo.padding == 0 { self = .patchify; return }
            if geo.stride > 1 && geo.kh > geo.stride && geo.kw > geo.stride { self = .strided; return }
            if geo.isDirect3x3Shape { self = geo.prefersDirect3x3 ? .direct3x3 : .gemm3x3; return }
            self = .other
        }
    }

    /// The class of a conv of x `input` (NCHW, or NHWC when `channelsLast`) and `weight`.
    public static func shapeClass(input: [Int], weight: [Int], stride: Int, padding: Int, groups: Int, channelsLast: Bool) -> ShapeClass {
        let (n, c, h, w) = channelsLast ? (input[0], input[3], input[1], input[2]) : (input[0], input[1], input[2], input[3])
        let geo = ConvGeometry(n: n, cin: c, h: h, w: w, cout: weight[0], kh: weight[2], kw: weight[3], stride: stride, padding: padding,
                               groups: groups, ho: (h + 2 * padding - weight[2]) / stride + 1, wo: (w + 2 * padding - weight[3]) / stride + 1)
        return ShapeClass(geo, channelsLast: channelsLast)
    }

    /// What auto gives a shape class on this host (the table, for this kernel variant).
    public static func autoChoice(_ shapeClass: ShapeClass) -> ConvBackend { table[KernelISA.info.name]?[shapeClass] ?? .native }

    /// The committed choices: kernel variant -> shape class -> backend (unlisted: native).
    /// avx2, from `scalekd bench --only conv-backends` (forward + backward, batch 128, 2
    /// threads, medians of 3 rounds, oneDNN / native) on an AMD EPYC with AVX2 and no AVX-512
    /// (family 25 model 1, Zen 3) loaded by two training processes, 2026-12-07: oneDNN won
    /// direct3x3 1.8-2.2x, gemm3x3 1.1-1.5x, strided 1.1-1.2x, grouped 1.5-1.8x, depthwise3x3
    /// 1.8-2.4x, depthwiseChannelsLast 1.6-7.9x; it lost stem 0.3-1.0x (patches 0.3-0.5x),
    /// pointwise 0.7-1.1x, pointwiseStrided 0.75-1.0x, depthwiseLarge 0.77-0.83x.
    /// avx512, the same bench on an Intel Xeon with AVX-512 (family 6 model 207) loaded by three
    /// training processes, 2026-12-07: the same split. oneDNN won direct3x3 1.2-1.8x, gemm3x3
    /// 2.2x, strided 1.5x, grouped 2.3x, depthwise3x3 2.2-2.8x, depthwiseChannelsLast 1.5-3.4x;
    /// it lost stem 0.6-0.8x (patches 0.3x), pointwise 0.3-0.8x, depthwiseLarge 0.7-0.8x and
    /// tied pointwiseStrided (1.02). Nobody has measured a baseline (no AVX2) host: native there.
    static let table: [String: [ShapeClass: ConvBackend]] = [
        "avx2": [.direct3x3: .dnnl, .gemm3x3: .dnnl, .strided: .dnnl, .grouped: .dnnl, .depthwise3x3: .dnnl, .depthwiseChannelsLast: .dnnl],
        "avx512": [.direct3x3: .dnnl, .gemm3x3: .dnnl, .strided: .dnnl, .grouped: .dnnl, .depthwise3x3: .dnnl, .depthwiseChannelsLast: .dnnl],
    ]

    /// SCALEKD_CONV, read once (an unknown value stops the process, exit status 2).
    public static let policy: Policy = environmentPolicy("SCALEKD_CONV", default: .auto)

    /// Set by tests and the bench's per-shape A/B to force one backend in this process.
    nonisolated(unsafe) static var forced: ConvBackend?

    /// Runs `body` with every convolution on `backend` (not for concurrent use).
    public static func using<T>(_ backend: ConvBackend, _ body: () throws -> T) rethrows -> T {
        let was = forced
        forced = backend
        defer { forced = was }
        return try body()
    }

    /// The backend of a convolution of this shape.
    static func choice(for geo: ConvGeometry, channelsLast: Bool) -> ConvBackend {
        if let forced { return forced }
        switch policy {
        case .native: return .native
        case .dnnl: return .dnnl
        case .auto: return autoChoice(ShapeClass(geo, channelsLast: channelsLast))
        }
    }

    /// The oneDNN library's version, e.g. "2.6.3".
    public static var libraryVersion: String { DNNL.version }

    /// The policy and, under auto, what it gives on this host: for env reports and provenance.
    public static var summary: String {
        guard policy == .auto else { return "\(policy.rawValue) (SCALEKD_CONV)" }
        let isa = KernelISA.info.name
        let onDNNL = ShapeClass.allCases.filter { autoChoice($0) == .dnnl }.map(\.rawValue)
        return "auto (\(isa) table): " + (onDNNL.isEmpty ? "native for every shape" : "oneDNN for \(onDNNL.joined(separator: ", ")), native for the rest")
    }
}
