import ArgumentParser
import Bench
import Foundation
import Models
import Store
import Training

struct ScalingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "Time data-parallel training steps of a preset on random images (run under `mpirun -np N`).",
        discussion: "Rank 0 prints images/s and the gradient sum's time and share of a step; without mpirun, one process.")
    @Option(help: "Model preset (`scalekd models`).") var model: String
    @Option(help: "Global batch (split over the ranks).") var batchSize = 32
    @Option(help: "Timed steps (after one warm-up).") var steps = 5

    func run() throws {
        guard let preset = Zoo.preset(named: model) else { throw TrainingError.unknownModel(model) }
        let world = DataParallel.world
        guard batchSize >= world.worldSize, steps >= 1 else {
            throw ValidationError("--batch-size must be at least the ranks (\(world.worldSize)) and --steps at least 1")
        }
        let timing = Bench.dataParallelSteps(preset, batch: batchSize, steps: steps, world: world)
        if world.writes { print(timing.summary) }
        world.finish()
    }
}

struct CompareCheckpointsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare-checkpoints",
        abstract: "Relative difference of two checkpoints' weights and optimizer state (a data-parallel run against one process).",
        discussion: "Fails (exit 1) when the weights differ by more than --tolerance (0: must be bit-identical, optimizer state included).")
    @Argument(help: "Two checkpoint .h5 files of one model at one step.") var checkpoints: [String]
    @Option(help: "Largest allowed ||a - b|| / ||a|| over all weights.") var tolerance = 0.0

    func run() throws {
        guard checkpoints.count == 2 else { throw ValidationError("give two checkpoints") }
        let d = try CheckpointDifference(try Checkpoint.load(from: checkpoints[0]), try Checkpoint.load(from: checkpoints[1]))
        print(d)
        let pass = tolerance == 0 ? d.isIdentical : d.weights.overall <= tolerance
        print(pass ? "within tolerance \(tolerance)" : "DIFFERENT beyond tolerance \(tolerance)")
        if !pass { throw ExitCode(1) }
    }
}
