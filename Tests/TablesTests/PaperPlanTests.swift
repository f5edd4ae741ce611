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

    func testAPaperPlanNeverTrainsTheMiniModels() throws {
        let spec = try TableSpec.load(tablesDirectory + "/table03.yaml")
        XCTAssertThrowsError(try TableRunner(spec: spec, scale: .paper, data: DataCatalog())) {
            XCTAssertTrue("\($0)".contains("--dry-run"), "\($0)")
        }
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
