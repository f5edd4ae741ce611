import Foundation
import Tables
import Training
import XCTest

/// Table 3's paper-scale plan: the paper presets with Table 10's recipes, shared baselines once.
final class PaperPlanTests: XCTestCase {
    var tablesDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tables").path
    }

    func testTable3PlanUsesPaperPresetsAndTable10Recipes() throws {
        let spec = try TableSpec.load(tablesDirectory + "/table03.yaml")
        let recipes = try PaperRecipes.load(from: tablesDirectory + "/paper-recipes.yaml")
        let runs = try PaperPlan.runs(of: spec, recipes: recipes)
        // 11 ScaleKD runs, 10 baselines: ResNet-50's baseline serves the Swin-L and BEiT-L rows.
        XCTAssertEqual(runs.filter { $0.method == "scalekd" }.count, 11)
        XCTAssertEqual(runs.filter { $0.method == "baseline" }.count, 10)
        let r50 = try XCTUnwrap(runs.first { $0.method == "baseline" && $0.student == "resnet50" })
        XCTAssertEqual(r50.cells, ["swinl-resnet.baseline", "beitl-resnet.baseline"])
        XCTAssertNil(r50.teacher)
        XCTAssertEqual(r50.recipe.globalBatch, 2048)
        XCTAssertEqual(r50.recipe.optimizer, "lamb")
        XCTAssertEqual(r50.epochs, 300)
        let vitb14 = try XCTUnwrap(runs.first { $0.method == "scalekd" && $0.student == "vit-b14" })
        XCTAssertEqual(vitb14.teacher, "beit-l14")
        XCTAssertEqual(vitb14.recipe.assumedFrom, "vit-b16")
    }

    /// Without ImageNet folders and teacher weights a paper plan does not start (and never
    /// trains the mini models on Fashion-MNIST instead); a table without one says so.
    func testAPaperPlanNeverTrainsTheMiniModels() throws {
        let spec = try TableSpec.load(tablesDirectory + "/table03.yaml")
        XCTAssertThrowsError(try TableRunner(spec: spec, scale: .paper, data: DataCatalog())) {
            XCTAssertTrue("\($0)".contains("--data") && "\($0)".contains("--teacher-weights") && "\($0)".contains("--dry-run"), "\($0)")
        }
        let path = NSTemporaryDirectory() + "spec-\(UUID().uuidString).yaml"
        try minimalSpec.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TableRunner(spec: try TableSpec.load(path), scale: .paper, data: DataCatalog())) {
            XCTAssertTrue("\($0)".contains("no paper plan") && "\($0)".contains("omitted"), "\($0)")
        }
    }

    /// Every table that trains or times something carries a paper plan whose runs resolve to
    /// paper presets and Table 10's recipes (what a plan leaves out, it says why).
    func testEveryTableThatTrainsHasAPaperPlan() throws {
        let recipes = try PaperRecipes.load(from: tablesDirectory + "/paper-recipes.yaml")
        for n in 1...16 {
            let spec = try TableSpec.load(tablesDirectory + String(format: "/table%02d.yaml", n))
            guard spec.hasRunsOrSteps else { continue }
            let runs = try PaperPlan.runs(of: spec, recipes: recipes)
            XCTAssertFalse(runs.isEmpty, "table \(n)")
        }
    }

    /// Rows a paper plan omits (IN-22K pre-training, the small scale's subset sweep) run
    /// nothing at paper scale; the others are Table 3's pairs.
    func testOmittedRowsAndColumnsRunNothing() throws {
        let recipes = try PaperRecipes.load(from: tablesDirectory + "/paper-recipes.yaml")
        let table4 = try TableSpec.load(tablesDirectory + "/table04.yaml")
        let runs4 = try PaperPlan.runs(of: table4, recipes: recipes)
        XCTAssertEqual(Set(runs4.flatMap(\.cells)), ["vitb-scalekd.top1", "vitb-scalekd.baseline"])
        XCTAssertEqual(runs4.first { $0.method == "scalekd" }?.teacher, "swin-l")
        let plan4 = try table4.paperPlan()
        XCTAssertEqual(plan4.omissionLines.count, 4)
        XCTAssertTrue(plan4.omissionLines.contains { $0.hasPrefix("`vitb-pretrain`: ") && $0.contains("IN-22K") }, "\(plan4.omissionLines)")
        let row = try XCTUnwrap(table4.rows.first { $0.id == "vitb-pretrain" })
        XCTAssertThrowsError(try PaperPlan.run(row: row, column: "top1", of: table4, recipes: recipes)) {
            XCTAssertTrue("\($0)".contains("not run at paper scale") && "\($0)".contains("IN-22K"), "\($0)")
        }
        let table16 = try TableSpec.load(tablesDirectory + "/table16.yaml")
        XCTAssertEqual(Set(try PaperPlan.runs(of: table16, recipes: recipes).map(\.student)), ["vit-s16"])
        // Tables 5 and 6: the backbones train; the dense columns say why they do not.
        let table5 = try TableSpec.load(tablesDirectory + "/table05.yaml")
        XCTAssertEqual(try PaperPlan.runs(of: table5, recipes: recipes).count, 4)
        XCTAssertTrue(try table5.paperPlan().omissionLines.contains { $0.hasPrefix("the dense columns: ") && $0.contains("MS-COCO") })
    }

    func testOmittedKeysMustNameARowAColumnOrAKind() throws {
        for (key, ok) in [("r", true), ("baseline", true), ("kind:run", true), ("kind:dense", false), ("nosuch", false)] {
            let text = minimalSpec.replacingOccurrences(of: "  ci: {epochs: 1, seeds: 1}",
                                                        with: "  ci: {epochs: 1, seeds: 1, omitted: {\"\(key)\": why}}")
            let path = NSTemporaryDirectory() + "spec-\(UUID().uuidString).yaml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            if ok {
                XCTAssertNoThrow(try TableSpec.load(path), key)
            } else {
                XCTAssertThrowsError(try TableSpec.load(path), key) { XCTAssertTrue("\($0)".contains("omitted '\(key)'"), "\($0)") }
            }
        }
    }

    /// Table 10's recipes as the trainer runs them: optimizer, rates and schedule from the
    /// file, regularisation and augmentation from the strategy.
    func testRecipesBecomeTrainingStrategies() throws {
        let recipes = try PaperRecipes.load(from: tablesDirectory + "/paper-recipes.yaml")
        let r50 = try XCTUnwrap(recipes.recipes["resnet50"]?["traditional"]).trainingStrategy("traditional")
        XCTAssertEqual(r50.optimizer, .sgd)
        XCTAssertEqual(r50.learningRate, 0.1)
        XCTAssertEqual(r50.weightDecay, 1e-4)
        XCTAssertEqual(r50.schedule, .step)
        XCTAssertEqual(r50.milestonesFraction, [0.3, 0.6, 0.9])
        XCTAssertEqual(r50.warmupEpochs, 0)
        XCTAssertNil(r50.augmentation.randAugment)
        let swinT = try XCTUnwrap(recipes.recipes["swin-t"]?["advanced"]).trainingStrategy("advanced")
        XCTAssertEqual(swinT.optimizer, .adamw)
        XCTAssertEqual(swinT.schedule, .cosine)
        XCTAssertEqual(swinT.warmupEpochs, 20)
        XCTAssertEqual(swinT.labelSmoothing, 0.1)
        XCTAssertNotNil(swinT.augmentation.randAugment)
        XCTAssertEqual(try XCTUnwrap(recipes.recipes["resnet50"]?["advanced"]).trainingStrategy("advanced").optimizer, .lamb)
        var odd = try XCTUnwrap(recipes.recipes["swin-t"]?["advanced"])
        odd.schedule = "poly"
        XCTAssertThrowsError(try odd.trainingStrategy("advanced")) { XCTAssertTrue("\($0)".contains("'poly'"), "\($0)") }
    }

    func testTableWithoutPaperPlanSaysWhatToAdd() throws {
        let path = NSTemporaryDirectory() + "spec-\(UUID().uuidString).yaml"
        try minimalSpec.write(toFile: path, atomically: true, encoding: .utf8)
        let spec = try TableSpec.load(path)
        XCTAssertThrowsError(try PaperPlan.runs(of: spec, recipes: PaperRecipes(recipes: [:]))) {
            XCTAssertTrue("\($0)".contains("no paper plan") && "\($0)".contains("paperModels"), "\($0)")
        }
    }

    /// Table 2 mixes the strategies: each run takes its strategy's length from its recipe.
    func testTable2TakesEachStrategysEpochsFromItsRecipe() throws {
        let spec = try TableSpec.load(tablesDirectory + "/table02.yaml")
        let runs = try PaperPlan.runs(of: spec, recipes: try PaperRecipes.load(from: tablesDirectory + "/paper-recipes.yaml"))
        // Two baselines (one per strategy) and six ScaleKD runs (three teachers x two strategies).
        XCTAssertEqual(runs.filter { $0.method == "baseline" }.count, 2)
        XCTAssertEqual(runs.filter { $0.method == "scalekd" }.count, 6)
        for run in runs {
            XCTAssertEqual(run.epochs, run.strategy == "traditional" ? 100 : 300, "\(run.cells)")
            XCTAssertEqual(run.student, "resnet50")
        }
        XCTAssertEqual(Set(runs.compactMap(\.teacher)), ["swin-s", "swin-b", "swin-l"])
    }

    /// Table 9's rows that repeat a configuration (c-spatial = d-learnable = a-cap) share a run;
    /// rows that differ only in a switch or a weight do not.
    func testTable9SharesRepeatedConfigurationsOnly() throws {
        let spec = try TableSpec.load(tablesDirectory + "/table09.yaml")
        let runs = try PaperPlan.runs(of: spec, recipes: try PaperRecipes.load(from: tablesDirectory + "/paper-recipes.yaml"))
        let cap = try XCTUnwrap(runs.first { $0.cells.contains("a-cap.top1") })
        XCTAssertEqual(Set(cap.cells), ["a-cap.top1", "c-spatial.top1", "d-learnable.top1"])
        let full = try XCTUnwrap(runs.first { $0.cells.contains("a-full.top1") })
        XCTAssertTrue(full.cells.contains("d-input-dependent-dfm.top1"))
        XCTAssertFalse(full.cells.contains("e-teacher-train.top1"))
        XCTAssertEqual(runs.filter { $0.method == "baseline" }.count, 1)
        XCTAssertTrue(runs.allSatisfy { $0.epochs == 100 && $0.strategy == "traditional" })
    }

    /// A table with nothing to train (content not recovered) writes its output at paper scale too.
    func testUnrecoveredTableRunsAtPaperScale() throws {
        let spec = try TableSpec.load(tablesDirectory + "/table08.yaml")
        XCTAssertNoThrow(try TableRunner(spec: spec, scale: .paper, data: DataCatalog()))
    }

    func testMissingRecipeNamesTheStudent() throws {
        let spec = try TableSpec.load(tablesDirectory + "/table03.yaml")
        XCTAssertThrowsError(try PaperPlan.runs(of: spec, recipes: PaperRecipes(recipes: [:]))) {
            XCTAssertTrue("\($0)".contains("no advanced recipe for mobilenet-v1"), "\($0)")
        }
    }
}
