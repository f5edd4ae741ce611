import Foundation
import Store

extension RunCache {
    /// Trains (or resumes, or takes from the cache) one run under its lock: the one way a
    /// run is trained, used by `scalekd train/distill`, the tables and the teachers. With
    /// `wait: false` it returns nil at once when another process holds the run.
    ///
    /// In a data-parallel world (config.worldSize = its size) rank 0 holds the lock and tells
    /// the other ranks whether the run is to be trained (not when it found it finished,
    /// perhaps after waiting for another process); they train beside it and return nil.
    public func train(_ config: RunConfig, data: TrainingData, teachers: TeacherSource, wait: Bool = true,
                      checkpointSeconds: Double = 60, dataParallel: DataParallel = .single) throws -> RunResult? {
        func trainer() throws -> Trainer {
            let objective = try makeObjective(for: config) { try teachers.teacher($0) }
            if let key = config.initFrom {
                // Fine-tuning: the student starts from another run's final weights.
                let (params, path) = try finalWeights(key: key)
                let stripped = Dictionary(uniqueKeysWithValues: params.map {
                    ($0.key.hasPrefix("student.") ? String($0.key.dropFirst(8)) : $0.key, $0.value)
                })
                try StateIO.load(stripped, into: objective.student.namedTensors(), path: path)
            }
            let sets = try data.imageSets(for: config.split)
            let trainer = Trainer(config: config, runDirectory: directory(for: config), objective: objective,
                                  trainSet: sets.train, validationSet: sets.validation, testSet: sets.test)
            trainer.checkpointSeconds = checkpointSeconds
            trainer.dataParallel = dataParallel
            return trainer
        }
        guard dataParallel.writes else {
            if dataParallel.broadcast(false) { try trainer().run() }
            return nil
        }
        var trains = false
        let result = try resultOrTrain(config, wait: wait) {
            trains = dataParallel.broadcast(true)
            let result = try trainer().run()!
            try record(config, result)
            return result
        }
        if !trains { _ = dataParallel.broadcast(false) }
        return result
    }
}

extension RunCache {
    /// Trains every run of `configs` the cache lacks, in order, passing over a run another
    /// process holds for the next free one (so processes working on one list split it) and
    /// over runs whose teacher is not pre-trained; a run that fine-tunes from another waits
    /// for it. Returns once every run is finished or cannot start; held runs are looked at
    /// again every few seconds (a process that dies releases its lock, and its run is taken over).
    public func trainAll(_ configs: [RunConfig], data: TrainingData, teachers: TeacherSource) throws {
        var blocked = Set<String>()
        while true {
            var progressed = false, waiting = false
            for config in configs where result(for: config) == nil && !blocked.contains(config.key) {
                if let from = config.initFrom, result(key: from) == nil {
                    if blocked.contains(from) { blocked.insert(config.key) } else { waiting = true }
                    continue
                }
                do {
                    if try train(config, data: data, teachers: teachers, wait: false) == nil { waiting = true; continue }
                    progressed = true
                } catch let error as ExperimentError {
                    guard case .teacherMissing = error else { throw error }
                    blocked.insert(config.key)
                }
            }
            if !progressed && !waiting { return }
            if !progressed { Thread.sleep(forTimeInterval: 5) }
        }
    }
}

