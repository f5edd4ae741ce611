import CDNNL
import Foundation

/// oneDNN (libdnnl, the library PyTorch's CPU convolutions use) through its C API: the
/// engine, primitives, and the reorders between a tensor's own layout and the blocked
/// layouts oneDNN's kernels want.
///
/// Threading: Debian's oneDNN runs on OpenMP (libgomp). The engine never lets it start a
/// team: every thread that creates or runs a primitive first sets its OpenMP team to one
/// thread (`useOneThread`), and callers split the work over the engine's own loop threads
/// (SCALEKD_THREADS, Parallel.swift): a conv's batch, one primitive call per chunk; a GEMM's
/// rows or columns (BLAS.sgemm). So there is one thread count, oneDNN's threads never
/// compete with the loop threads (idle libgomp workers spin for up to milliseconds after
/// each call), and gradients summed over the batch are added in the engine's chunk order,
/// deterministic for a thread count like the native kernels.
///
/// Instruction set: oneDNN picks its JIT kernels from the CPU, capped here at the native
/// kernels' variant (KernelISA, SCALEKD_ISA), so that pin holds for oneDNN too (which may
/// still block by the host's cache sizes: see ConvBackend on pinned runs).
enum DNNL {
    /// The CPU engine, created on first use after the ISA cap (which must come first).
    static let engine: dnnl_engine_t = {
        let cap: dnnl_cpu_isa_t
        switch KernelISA.info.name {
        case "avx512": cap = dnnl_cpu_isa_avx512_core
        case "avx2": cap = dnnl_cpu_isa_avx2
        default: cap = dnnl_cpu_isa_sse41
        }
        check(dnnl_set_max_cpu_isa(cap), "capping the instruction set at \(KernelISA.info.name)")
        var e: dnnl_engine_t?
        check(dnnl_engine_create(&e, dnnl_cpu, 0), "creating the CPU engine")
        return e!
    }()

    /// The library's version, e.g. "2.6.3".
    static var version: String {
        let v = dnnl_version().pointee
        return "\(v.major).\(v.minor).\(v.patch)"
    }

    /// A failed oneDNN call is a bug in this glue (shapes are checked before), not a
    /// condition to recover from.
    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        if status != dnnl_success { fatalError("oneDNN: \(what()) failed (dnnl_status_t \(status.rawValue))") }
    }

    /// Row-major C = alpha op(A) op(B) + beta C, oneDNN's sgemm on the calling thread.
    @inline(__always)
    static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = engine  // the ISA cap comes before oneDNN's first JIT
        useOneThread()
        let (t, nt) = (CChar(UInt8(ascii: "T")), CChar(UInt8(ascii: "N")))
        check(dnnl_sgemm(transA ? t : nt, transB ? t : nt, dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), alpha, a, dnnl_dim_t(lda),
                         b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc)), "sgemm \(m)x\(n)x\(k)")
    }

    /// OpenMP's team size is per thread: this thread's oneDNN calls run on it alone.
    @inline(__always)
    static func useOneThread() { omp_set_num_threads(1) }

    /// A memory descriptor of `dims` in a plain layout (`tag`) or, with `dnnl_format_tag_any`,
    /// one the primitive chooses.
    static func desc(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map { dnnl_dim_t($0) }
        check(dnnl_memory_desc_init_by_tag(&md, Int32(d.count), d, dnnl_f32, tag), "describing \(dims)")
        return md
    }

    /// Attributes for every primitive: the caller hands each run its scratchpad, so one
    /// primitive can run on several loop threads at once.
    static func attributes(accumulate: Bool = false) -> dnnl_primitive_attr_t {
        var attr: dnnl_primitive_attr_t?
        check(dnnl_primitive_attr_create(&attr), "creating attributes")
        check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "setting the scratchpad mode")
        if accumulate {
            // dst = op(src) + 1 * dst: gradients added into what is there.
            var ops: dnnl_post_ops_t?
            check(dnnl_post_ops_create(&ops), "creating post-ops")
            check(dnnl_post_ops_append_sum(ops, 1), "appending a sum post-op")
            check(dnnl_primitive_attr_set_post_ops(attr, ops), "setting post-ops")
            dnnl_post_ops_destroy(ops)
        }
        return attr!
    }
}

/// A primitive and its descriptor. Created once per shape and kept for the process
/// (creation runs oneDNN's JIT); run from any thread.
final class DNNLPrimitive {
    let descriptor: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t
    private let scratchpadBytes: Int

    /// Takes ownership of `descriptor`.
    init(_ descriptor: dnnl_primitive_desc_t) {
        self.descriptor = descriptor
        var p: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&p, descriptor), "creating a primitive")
        primitive = p!
        scratchpadBytes = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0))
    }

    /// A reorder from one layout to another; `accumulate` adds into the destination.
    convenience init(reorderFrom source: dnnl_memory_desc_t, to destination: dnnl_memory_desc_t, accumulate: Bool) {
        var src = source, dst = destination, pd: dnnl_primitive_desc_t?
        let attr = DNNL.attributes(accumulate: accumulate)
        defer { dnnl_primitive_attr_destroy(attr) }
        DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &src, DNNL.engine, &dst, DNNL.engine, attr), "creating a reorder")
        self.init(pd!)
    }

    /// The layout the primitive chose for one of its arguments.
    func desc(_ what: dnnl_query_t) -> dnnl_memory_desc_t { dnnl_primitive_desc_query_md(descriptor, what, 0).pointee }

    /// Which oneDNN implementation runs, e.g. "jit:avx2" (for tests and the bench).
    var implementation: String {
        var s: UnsafePointer<CChar>?
        dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &s)
        return s.map { String(cString: $0) } ?? "?"
    }

    /// Runs on the calling thread: `arguments` are (DNNL_ARG_*, layout, memory).
    func run(_ arguments: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)]) {
        DNNL.useOneThread()
        var args: [dnnl_exec_arg_t] = []
        var memories: [dnnl_memory_t?] = []
        defer { for m in memories { dnnl_memory_destroy(m) } }
        func add(_ kind: Int32, _ layout: dnnl_memory_desc_t, _ pointer: UnsafeMutableRawPointer) {
            var md = layout, m: dnnl_memory_t?
            DNNL.check(dnnl_memory_create(&m, &md, DNNL.engine, pointer), "wrapping memory")
            memories.append(m)
            args.append(dnnl_exec_arg_t(arg: kind, memory: m))
        }
        for (kind, layout, pointer) in arguments { add(kind, layout, pointer) }
        let scratchpad = scratchpadBytes > 0 ? UnsafeMutableRawPointer.allocate(byteCount: scratchpadBytes, alignment: 64) : nil
        defer { scratchpad?.deallocate() }
        if let scratchpad { add(DNNL_ARG_SCRATCHPAD, desc(dnnl_query_scratchpad_md), scratchpad) }
        var stream: dnnl_stream_t?
        DNNL.check(dnnl_stream_create(&stream, DNNL.engine, dnnl_stream_default_flags.rawValue), "creating a stream")
        defer { dnnl_stream_destroy(stream) }
        DNNL.check(dnnl_primitive_execute(primitive, stream, Int32(args.count), args), "running \(implementation)")
        DNNL.check(dnnl_stream_wait(stream), "waiting for \(implementation)")
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }
}

/// One argument of a primitive: the tensor's own layout (`user`) and the one the primitive
/// chose (`inner`), with the reorder between them when they differ.
struct DNNLPort {
    enum Direction { case input, output, accumulated }
    let user: dnnl_memory_desc_t
    let inner: dnnl_memory_desc_t
    /// user -> inner for inputs; inner -> user for outputs (added into it when accumulated).
    let reorder: DNNLPrimitive?
    let direction: Direction

    init(user: dnnl_memory_desc_t, inner: dnnl_memory_desc_t, _ direction: Direction) {
        self.user = user
        self.inner = inner
        self.direction = direction
        var u = user, i = inner
        let same = dnnl_memory_desc_equal(&u, &i) != 0
        switch direction {
        case .input: reorder = same ? nil : DNNLPrimitive(reorderFrom: user, to: inner, accumulate: false)
        case .output: reorder = same ? nil : DNNLPrimitive(reorderFrom: inner, to: user, accumulate: false)
        // The primitives overwrite their outputs: an accumulated one goes through a buffer, then is added.
        case .accumulated: reorder = DNNLPrimitive(reorderFrom: inner, to: user, accumulate: true)
        }
    }

    var innerBytes: Int { withUnsafePointer(to: inner) { dnnl_memory_desc_get_size($0) } }

    /// Whether another port's inner layout is this one's (a buffer in it serves both).
    func sharesInnerLayout(with other: DNNLPort) -> Bool {
        var a = inner, b = other.inner
        return dnnl_memory_desc_equal(&a, &b) != 0
    }

    /// An input in the inner layout: the tensor's memory itself, or a buffer reordered from it.
    func inner(of userMemory: UnsafeMutablePointer<Float>) -> DNNLBuffer {
        precondition(direction == .input, "inner(of:) reads an input")
        guard let reorder else { return DNNLBuffer(pointer: UnsafeMutableRawPointer(userMemory), owned: false) }
        let buffer = DNNLBuffer(bytes: innerBytes)
        reorder.run([(DNNL_ARG_FROM, user, UnsafeMutableRawPointer(userMemory)), (DNNL_ARG_TO, inner, buffer.pointer)])
        return buffer
    }

    /// Where the primitive writes an output: the tensor's memory itself, or a buffer that
    /// `deliver` reorders (or adds) into it.
    func buffer(for userMemory: UnsafeMutablePointer<Float>) -> DNNLBuffer {
        precondition(direction != .input, "buffer(for:) is for outputs")
        return reorder == nil ? DNNLBuffer(pointer: UnsafeMutableRawPointer(userMemory), owned: false) : DNNLBuffer(bytes: innerBytes)
    }

    /// Moves (or adds) an output buffer into the tensor's memory and releases it.
    func deliver(_ buffer: DNNLBuffer, to userMemory: UnsafeMutablePointer<Float>) {
        precondition(direction != .input, "deliver(_:to:) is for outputs")
        defer { buffer.release() }
        guard let reorder, buffer.owned else { return }
        reorder.run([(DNNL_ARG_FROM, inner, buffer.pointer), (DNNL_ARG_TO, user, UnsafeMutableRawPointer(userMemory))])
    }
}

/// Memory in a port's inner layout: a tensor's own memory, or a buffer this owns.
struct DNNLBuffer {
    let pointer: UnsafeMutableRawPointer
    let owned: Bool

    init(pointer: UnsafeMutableRawPointer, owned: Bool) {
        self.pointer = pointer
        self.owned = owned
    }

    init(bytes: Int) {
        self.init(pointer: .allocate(byteCount: Swift.max(bytes, 4), alignment: 64), owned: true)
    }

    func release() { if owned { pointer.deallocate() } }
}
