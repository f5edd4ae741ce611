import Foundation
import Models
import NN
import Tensor
import Training

/// Data-parallel training steps of a preset on random images, timed on rank 0: the scaling
/// measurement (`mpirun -np N scalekd scaling`; one process without mpirun). Each rank runs
/// its rows of the global batch as Trainer does (forward, backward, the gradient sum, AdamW).
/// A barrier starts every step and another precedes the sum, so the sum's time is the
/// exchange and addition alone, not a wait for a slower rank (that counts in the step).
public struct DataParallelTiming: Codable {
    public var model: String
    public var ranks: Int
    public var batch: Int
    public var threadsPerRank: Int
    public var parameters: Int
    /// Medians over the timed steps.
    public var stepSeconds: Double
    public var sumSeconds: Double

    public var imagesPerSecond: Double { Double(batch) / stepSeconds }
    public var sumShare: Double { sumSeconds / stepSeconds }
    /// Floats each rank sends and receives in one sum: its N-1 pieces of the others' shares
    /// out and theirs of its share in (Alltoallv), then its share out and the other N-1 in
    /// (Allgatherv): 2·P·(N−1)/N, as a ring allreduce.
    public var bytesPerRank: Double { 2 * Double(parameters) * Double(ranks - 1) / Double(ranks) * 4 }

    public var summary: String {
        let threads = "\(threadsPerRank) thread\(threadsPerRank == 1 ? "" : "s")"
        var s = String(format: "%@ at %d px, global batch %d %@: %.3f s a step, %.2f images/s",
                       model, Zoo.preset(named: model)?.inputSize ?? 0, batch,
                       ranks == 1 ? "in one process (\(threads))" : "on \(ranks) ranks (\(threads) each)", stepSeconds, imagesPerSecond)
        guard ranks > 1 else { return s }
        s += String(format: "; gradient sum %.4f s (%.1f%% of a step) for %.2fM parameters: %.1f MB per rank, %.2f GB/s effective",
                    sumSeconds, 100 * sumShare, Double(parameters) / 1e6, bytesPerRank / 1e6, bytesPerRank / sumSeconds / 1e9)
        return s
    }
}

extension Bench {
    public static func dataParallelSteps(_ preset: ModelPreset, batch: Int, steps: Int, world: DataParallel) -> DataParallelTiming {
        var rng = RandomGenerator(seed: 3)
        let model = preset.build(&rng)
        let rows = world.rows(ofBatch: batch)
        let x = randomImages(preset, batch: batch, rng: &rng).sliced(axis: 0, rows)
        let labels = rows.map { $0 % preset.classes }
        model.setTraining(true)
        let stochastic = model.stochasticLayers()
        let opt = AdamW(parameterSlots(model.namedParameters(), weightDecay: 0.05))
        var stepTimes: [Double] = [], sumTimes: [Double] = []
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        for step in 0...steps {  // step 0 warms up
            world.barrier()
            let start = now()
            for layer in stochastic { layer.restartStream(seed: 0, step: step, rows: BatchRows(rows, of: batch)) }
            opt.zeroGradients()
            let loss = model(x).crossEntropy(labels: labels)
            loss.backward()
            var means = [loss.scalar]
            world.barrier()
            let sumStart = now()
            world.sumGradients(of: opt.slots, means: &means, rows: rows.count, batch: batch)
            let sumEnd = now()
            opt.step(learningRate: 1e-4)
            if step > 0 { stepTimes.append(now() - start); sumTimes.append(sumEnd - sumStart) }
        }
        return DataParallelTiming(model: preset.name, ranks: world.worldSize, batch: batch, threadsPerRank: Parallel.threads,
                                  parameters: opt.slots.reduce(0) { $0 + $1.tensor.count },
                                  stepSeconds: median(stepTimes), sumSeconds: median(sumTimes))
    }
}
