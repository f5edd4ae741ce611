import CNative
import Foundation

/// Loop parallelism: the engine's one thread pool. OpenBLAS runs single-threaded and
/// large GEMMs are split over these threads too (BLAS.sgemm), so small GEMMs can run
/// side by side (one per image or window) without BLAS threads waking for each.
/// Work is split into a fixed number of contiguous chunks, so results (including
/// reductions combined in chunk order) are bit-identical for the same thread count.
public enum Parallel {
    nonisolated(unsafe) public static var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    /// True on a thread that is running a chunk of a parallel loop: nested loops run inline.
    @inline(__always)
    static var isNested: Bool { skd_in_parallel() != 0 }
}

/// Calls `body(chunk, range)` for `chunks` disjoint contiguous ranges covering 0..<n,
/// concurrently; chunk c always gets the same range, so per-chunk partial results
/// combined in chunk order are deterministic.
@inline(__always)
public func parallelChunks(_ n: Int, chunks: Int, _ body: (Int, Range<Int>) -> Void) {
    if n <= 0 { return }
    let per = (n + chunks - 1) / chunks
    if chunks <= 1 { body(0, 0..<n); return }
    withoutActuallyEscaping(body) { b in
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * per, hi = Swift.min(n, lo + per)
            guard lo < hi else { return }
            let outer = skd_in_parallel()
            skd_set_in_parallel(1)
            b(c, lo..<hi)
            skd_set_in_parallel(outer)
        }
    }
}

/// The number of chunks a parallel loop over n items (at least `grain` per chunk) uses
/// here: 1 inside another parallel loop.
@inline(__always)
public func parallelChunkCount(_ n: Int, grain: Int = 1) -> Int {
    let t = Parallel.threads
    if n <= grain || t <= 1 || Parallel.isNested { return 1 }
    return Swift.min(t, (n + grain - 1) / grain)
}

/// Calls `body` on disjoint ranges covering 0..<n; runs inline when n is small or when
/// already inside a parallel loop.
@inline(__always)
public func parallelFor(_ n: Int, grain: Int = 4096, _ body: (Range<Int>) -> Void) {
    parallelChunks(n, chunks: parallelChunkCount(n, grain: grain)) { _, r in body(r) }
}

/// Parallel loop over items that are each large (e.g. images in a batch, channels).
@inline(__always)
public func parallelForEach(_ n: Int, _ body: (Int) -> Void) {
    parallelChunks(n, chunks: parallelChunkCount(n)) { _, r in for i in r { body(i) } }
}

/// Per-chunk partial sums for parallel reductions whose chunks may meet the same output
/// element: chunk c adds into `buffer(c)`, `width` zeroed floats of its own, and callers add
/// the buffers into their result in chunk order (`addInOrder`), so sums are deterministic
/// for a thread count. Used by column sums, layer-norm and conv weight gradients, and
/// sum(toShape:).
struct ChunkPartials {
    let chunks: Int, width: Int
    private let storage: Storage

    init(chunks: Int, width: Int) {
        self.chunks = chunks
        self.width = width
        storage = Storage(count: chunks * width)
    }

    func buffer(_ chunk: Int) -> UnsafeMutablePointer<Float> { storage.pointer + chunk * width }

    /// out[i] += buffer(c)[offset + i] for i < count, chunk after chunk.
    func addInOrder(into out: UnsafeMutablePointer<Float>, offset: Int = 0, count: Int? = nil) {
        let m = count ?? width - offset
        for c in 0..<chunks {
            let p = buffer(c) + offset
            for i in 0..<m { out[i] += p[i] }
        }
    }
}

/// Runs `body(o)` for every block o in 0..<count, each `floatsEach` floats of work, over
/// the threads in chunks of about 4k floats (attention's head split and Swin's window
/// permutations move ~10^5 short blocks).
@inline(__always)
func parallelBlocks(_ count: Int, floatsEach: Int, _ body: (Int) -> Void) {
    parallelFor(count, grain: Swift.max(1, 4096 / Swift.max(1, floatsEach))) { r in for o in r { body(o) } }
}
