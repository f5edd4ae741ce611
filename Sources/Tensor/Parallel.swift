import Foundation

/// Loop parallelism for the ops that BLAS does not cover. Work is split into a fixed
/// number of contiguous chunks, so results (including reductions combined in chunk
/// order) are bit-identical for the same thread count.
public enum Parallel {
    nonisolated(unsafe) public static var threads: Int = ProcessInfo.processInfo.activeProcessorCount
}

/// Calls `body` on disjoint ranges covering 0..<n; runs inline when n is small.
@inline(__always)
public func parallelFor(_ n: Int, grain: Int = 4096, _ body: (Range<Int>) -> Void) {
    let t = Parallel.threads
    if n <= grain || t <= 1 { if n > 0 { body(0..<n) }; return }
    let chunks = Swift.min(t, (n + grain - 1) / grain)
    let per = (n + chunks - 1) / chunks
    withoutActuallyEscaping(body) { b in
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * per, hi = Swift.min(n, lo + per)
            if lo < hi { b(lo..<hi) }
        }
    }
}

/// Parallel loop over items that are each large (e.g. images in a batch, channels).
@inline(__always)
public func parallelForEach(_ n: Int, _ body: (Int) -> Void) {
    let t = Parallel.threads
    if n <= 1 || t <= 1 { for i in 0..<n { body(i) }; return }
    let chunks = Swift.min(t, n)
    let per = (n + chunks - 1) / chunks
    withoutActuallyEscaping(body) { b in
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * per, hi = Swift.min(n, lo + per)
            for i in lo..<hi { b(i) }
        }
    }
}
