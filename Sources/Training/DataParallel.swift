import CMPI
import Foundation
import NN
import Tensor

/// Data-parallel training over MPI: `mpirun -np N scalekd train ...` starts N processes
/// (ranks), and rank r trains rows r·B/N ..< (r+1)·B/N of every global batch of B. Batches,
/// augmentation and drop-path masks are drawn for the global batch and cut (BatchLoader's
/// and StochasticStream's `rows`), so each rank sees its rows exactly as one process would.
/// One process is `single`: MPI is never touched and gradients are left as they are.
///
/// Gradients are summed once per step in a fixed order rather than by MPI_Allreduce, whose
/// order is the implementation's: the flat gradient is cut into N shares; rank s receives
/// every rank's piece of share s (one Alltoallv), adds the pieces in rank order, and every
/// rank gathers the summed shares (one Allgatherv). Each rank first scales its gradient by
/// its rows / B, so the sum is the gradient of the global batch's mean loss.
///
/// Per rank, not synchronised: BatchNorm statistics (as PyTorch DDP: each rank normalises
/// its B/N rows by their own mean and variance; rank 0's running statistics are the ones
/// saved) and losses that relate samples of a batch to each other (DIST's intra-class term).
/// Rank 0 writes checkpoints, logs and results; every rank resumes from its checkpoint.
public struct DataParallel: Sendable {
    public let rank: Int
    public let worldSize: Int

    public static let single = DataParallel(rank: 0, worldSize: 1)

    /// This process's world: MPI's when mpirun started more than one process (MPI is
    /// initialised on first use), else `single`, so a plain run needs no mpirun.
    public static let world: DataParallel = {
        let env = ProcessInfo.processInfo.environment
        guard let size = env["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init), size > 1 else { return .single }
        // A rank waiting for the others yields its core instead of spinning on it: the
        // machine is shared, and rank 0 evaluates alone while the others wait.
        setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0)
        DataParallel.check(MPI_Init(nil, nil), "MPI_Init")
        var rank: Int32 = 0, count: Int32 = 0
        DataParallel.check(MPI_Comm_rank(cmpi_comm_world(), &rank), "MPI_Comm_rank")
        DataParallel.check(MPI_Comm_size(cmpi_comm_world(), &count), "MPI_Comm_size")
        // The ranks on one host share its cores (unless SCALEKD_THREADS says otherwise).
        if env["SCALEKD_THREADS"] == nil, let local = env["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init), local > 1 {
            Parallel.threads = max(1, ProcessInfo.processInfo.activeProcessorCount / local)
        }
        return DataParallel(rank: Int(rank), worldSize: Int(count))
    }()

    init(rank: Int, worldSize: Int) {
        precondition(worldSize >= 1 && (0..<worldSize).contains(rank), "rank \(rank) of \(worldSize)")
        self.rank = rank
        self.worldSize = worldSize
    }

    public var isSingle: Bool { worldSize == 1 }

    /// Rank 0 writes the checkpoints, logs and results; the others write nothing.
    public var writes: Bool { rank == 0 }

    /// This rank's rows of a global batch of `n`.
    public func rows(ofBatch n: Int) -> Range<Int> { (rank * n / worldSize)..<((rank + 1) * n / worldSize) }

    /// Replaces the gradients of `slots` and `means` (this rank's loss means over its `rows`
    /// of a global batch of `batch`) by the global batch's: the same on every rank.
    public func sumGradients(of slots: [ParameterSlot], means: inout [Float], rows: Int, batch: Int) {
        guard !isSingle else { return }
        let grads = slots.map(\.tensor.grad)
        var flat = DataParallel.flatten(grads, means, scale: Float(rows) / Float(batch))
        sumInRankOrder(&flat)
        DataParallel.unflatten(flat, into: grads, means: &means)
    }

    /// Rank 0's `flag`, on every rank (the other ranks' `flag` is not read).
    public func broadcast(_ flag: Bool) -> Bool {
        guard !isSingle else { return flag }
        var value: Int32 = flag ? 1 : 0
        DataParallel.check(MPI_Bcast(&value, 1, cmpi_int(), 0, cmpi_comm_world()), "MPI_Bcast")
        return value != 0
    }

    /// Returns once every rank has called it (timing: so a measurement starts together).
    public func barrier() {
        guard !isSingle else { return }
        DataParallel.check(MPI_Barrier(cmpi_comm_world()), "MPI_Barrier")
    }

    /// Ends MPI after a finished run (mpirun reports a rank that exits without it as failed).
    public func finish() {
        guard !isSingle else { return }
        DataParallel.check(MPI_Finalize(), "MPI_Finalize")
    }

    /// Ends every rank: the others would otherwise wait for this one forever.
    public func abort(code: Int32 = 1) -> Never {
        if !isSingle { MPI_Abort(cmpi_comm_world(), code) }
        exit(code)
    }

    /// `flat`, summed over the ranks as the type's comment says.
    func sumInRankOrder(_ flat: inout [Float]) {
        let shares = DataParallel.shares(of: flat.count, ranks: worldSize), mine = shares[rank].count
        let shareCounts = shares.map { Int32($0.count) }, shareOffsets = shares.map { Int32($0.lowerBound) }
        var pieces = [Float](repeating: 0, count: worldSize * mine)
        DataParallel.check(MPI_Alltoallv(flat, shareCounts, shareOffsets, cmpi_float(),
                                         &pieces, [Int32](repeating: Int32(mine), count: worldSize),
                                         (0..<worldSize).map { Int32($0 * mine) }, cmpi_float(), cmpi_comm_world()),
                           "MPI_Alltoallv")
        let sum = DataParallel.addInRankOrder(pieces, ranks: worldSize)
        DataParallel.check(MPI_Allgatherv(sum, Int32(mine), cmpi_float(), &flat, shareCounts, shareOffsets,
                                          cmpi_float(), cmpi_comm_world()), "MPI_Allgatherv")
    }

    /// Share s of a vector of `count` summed by rank s of `ranks`.
    static func shares(of count: Int, ranks: Int) -> [Range<Int>] {
        (0..<ranks).map { (($0 * count) / ranks)..<((($0 + 1) * count) / ranks) }
    }

    /// `pieces`: one equal piece per rank, in rank order; their sum, added in that order.
    static func addInRankOrder(_ pieces: [Float], ranks: Int) -> [Float] {
        let m = pieces.count / ranks
        var sum = Array(pieces[0..<m])
        pieces.withUnsafeBufferPointer { p in
            sum.withUnsafeMutableBufferPointer { s in
                for r in 1..<ranks { for i in 0..<m { s[i] += p[r * m + i] } }
            }
        }
        return sum
    }

    /// What the world computes from every rank's flat vector, in one process (tests).
    static func rankOrderedSum(_ vectors: [[Float]]) -> [Float] {
        let ranks = vectors.count
        return shares(of: vectors[0].count, ranks: ranks).flatMap { share in
            addInRankOrder(vectors.flatMap { $0[share] }, ranks: ranks)
        }
    }

    /// Every gradient, then `extra`, all times `scale` (a parameter without a gradient is
    /// passed over: it has none on any rank).
    static func flatten(_ grads: [Tensor?], _ extra: [Float], scale: Float) -> [Float] {
        var flat = [Float](repeating: 0, count: grads.reduce(extra.count) { $0 + ($1?.count ?? 0) })
        flat.withUnsafeMutableBufferPointer { f in
            var at = 0
            for g in grads {
                guard let g else { continue }
                for i in 0..<g.count { f[at + i] = g.pointer[i] * scale }
                at += g.count
            }
            for (i, v) in extra.enumerated() { f[at + i] = v * scale }
        }
        return flat
    }

    /// The inverse of `flatten` (parameters without a gradient have none on any rank).
    static func unflatten(_ flat: [Float], into grads: [Tensor?], means: inout [Float]) {
        var at = 0
        for g in grads {
            guard let g else { continue }
            flat.withUnsafeBufferPointer { g.pointer.update(from: $0.baseAddress! + at, count: g.count) }
            at += g.count
        }
        means = Array(flat[at...])
    }

    static func check(_ code: Int32, _ call: String) {
        // MPI's default error handler aborts first; this is for one set to return.
        if code != MPI_SUCCESS { fatalError("\(call) failed with MPI error \(code)") }
    }
}

extension RunConfig {
    /// The run as trained by `world`. More than one rank is another run (BatchNorm sees B/N
    /// rows per rank), so the world size enters the key; one process leaves the key as it was.
    public func trained(by world: DataParallel) -> RunConfig {
        var c = self
        c.worldSize = world.isSingle ? nil : world.worldSize
        return c
    }
}
