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
        let spec = try TableSpec.load(tablesDirectory + "/table01.yaml")
        guard spec.plan["paper"] == nil else { return }
        XCTAssertThrowsError(try PaperPlan.runs(of: spec, recipes: PaperRecipes(recipes: [:]))) {
            XCTAssertTrue("\($0)".contains("no paper plan") && "\($0)".contains("paperModels"), "\($0)")
        }
    }

    func testMissingRecipeNamesTheStudent() throws {
        let spec = try TableSpec.load(tablesDirectory + "/table03.yaml")
        XCTAssertThrowsError(try PaperPlan.runs(of: spec, recipes: PaperRecipes(recipes: [:]))) {
            XCTAssertTrue("\($0)".contains("no advanced recipe for mobilenet-v1"), "\($0)")
        }
    }
}
