import Foundation
import Training

/// The verdict on one claim, with the test and the numbers behind it.
public struct ClaimResult: Codable {
    public var id: String
    public var statement: String
    public var verdict: Verdict
    public var evidence: String
    /// Where the claim comes from: a quote of the paper with its place, or "suite expectation".
    public var source: String?
    /// The largest Holm-adjusted p-value of the claim's comparisons (nil: no test ran).
    public var p: Double?
    /// Seeds per compared cell (the smallest).
    public var seeds: Int?

    public init(id: String, statement: String, verdict: Verdict, evidence: String, source: String? = nil) {
        self.id = id; self.statement = statement; self.verdict = verdict; self.evidence = evidence; self.source = source
    }

    public enum Verdict: String, Codable {
        case held, notHeld = "not held", inconclusive
        case indicative = "indicative (1 seed)"
        case notTestable = "not testable"
    }

    /// True for claims quoted from the paper (the report counts them apart from the suite's own).
    public var isPaperClaim: Bool { (source ?? "").lowercased() != ClaimSpec.suiteExpectation }
}

/// Claims compare cells seed by seed. Each comparison "a > b" is a one-sided paired t-test
/// over the seeds both cells share (the same seed gives both runs the same initialisation,
/// batch order and augmentation); a claim with several comparisons (every row, a chain of
/// increases, one cell against several) corrects them with Holm's step-down procedure at
/// family-wise alpha 0.05. Held: every comparison rejects "a <= b". Not held: some
/// comparison rejects "a >= b" (the data contradict the claim). Otherwise inconclusive.
/// One seed gives no test: the verdict is "indicative (1 seed)" with the sign of each gap.
public enum ClaimEvaluator {
    public static let alpha = 0.05
    public static let testName = "one-sided paired t-test over seeds, Holm-corrected, alpha 0.05"

    struct Comparison { let a: (String, CellValues); let b: (String, CellValues) }

    /// Every claim of a table spec judged over its cells (a table run, and REPORT.md again from the stored cells).
    public static func evaluate(_ spec: TableSpec, cells: [String: [String: CellValues]]) -> [ClaimResult] {
        (spec.claims ?? []).map { evaluate($0, cells: cells, rows: spec.rows.map(\.id)) }
    }

    public static func evaluate(_ claim: ClaimSpec, cells: [String: [String: CellValues]], rows: [String]) -> ClaimResult {
        func cell(_ ref: String) -> (String, CellValues)? {
            let p = ref.split(separator: ".").map(String.init)
            guard p.count == 2, let v = cells[p[0]]?[p[1]], !v.values.isEmpty else { return nil }
            return (ref, v)
        }
        var comparisons: [Comparison] = []
        var missing: [String] = []
        switch claim.kind {
        case .greater:
            guard let c = claim.cell, let a = cell(c) else { missing.append(claim.cell ?? "?"); break }
            for ref in claim.than {
                guard let b = cell(ref) else { missing.append(ref); continue }
                comparisons.append(Comparison(a: a, b: b))
            }
        case .allRows:
            guard let col = claim.cell, let other = claim.than.first else { break }
            for r in rows {
                guard let a = cells[r]?[col], let b = cells[r]?[other], !a.values.isEmpty, !b.values.isEmpty else { continue }
                comparisons.append(Comparison(a: ("\(r).\(col)", a), b: ("\(r).\(other)", b)))
            }
            if comparisons.isEmpty { missing.append("\(col)/\(other) in every row") }
        case .meanRows:
            guard let col = claim.cell, let other = claim.than.first else { break }
            let both = rows.compactMap { r -> (CellValues, CellValues)? in
                guard let a = cells[r]?[col], let b = cells[r]?[other], !a.values.isEmpty, a.values.count == b.values.count else { return nil }
                return (a, b)
            }
            guard let seeds = both.map({ $0.0.values.count }).min(), both.allSatisfy({ $0.0.values.count == seeds }) else {
                missing.append("\(col)/\(other) in some row with every seed")
                break
            }
            // One value per seed: the mean over rows, so the test is over seeds as elsewhere.
            func mean(_ pick: ((CellValues, CellValues)) -> CellValues) -> CellValues {
                CellValues(values: (0..<seeds).map { s in both.map { pick($0).values[s] }.reduce(0, +) / Double(both.count) })
            }
            comparisons.append(Comparison(a: ("mean of \(col) over \(both.count) rows", mean { $0.0 }),
                                          b: ("mean of \(other)", mean { $0.1 })))
        case .increasing:
            let vals = claim.than.map { ($0, cell($0)) }
            for (ref, v) in vals where v == nil { missing.append(ref) }
            if missing.isEmpty {
                for i in 1..<vals.count { comparisons.append(Comparison(a: vals[i].1!, b: vals[i - 1].1!)) }
            }
        }
        var result = ClaimResult(id: claim.id, statement: claim.statement, verdict: .notTestable, evidence: "", source: claim.source)
        if !missing.isEmpty || comparisons.isEmpty {
            result.evidence = "no result for " + missing.joined(separator: ", ")
            return result
        }
        return judge(comparisons, into: result)
    }

    static func judge(_ comparisons: [Comparison], into base: ClaimResult) -> ClaimResult {
        var result = base
        let seeds = comparisons.map { min($0.a.1.values.count, $0.b.1.values.count) }.min()!
        result.seeds = seeds
        func describe(_ c: Comparison) -> String {
            let d = zip(c.a.1.values, c.b.1.values).map { $0 - $1 }
            let mean = d.reduce(0, +) / Double(d.count)
            let sd = d.count > 1 ? (d.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d.count - 1)).squareRoot() : 0
            return String(format: "%@ − %@ = %+.2f", c.a.0, c.b.0, mean) + (d.count > 1 ? String(format: " ± %.2f", sd) : "")
        }
        if seeds < 2 {
            let against = comparisons.filter { zip($0.a.1.values, $0.b.1.values).map { $0 - $1 }.reduce(0, +) <= 0 }
            result.verdict = .indicative
            result.evidence = (against.isEmpty ? "every gap has the claimed sign: " : "gaps against the claim: ")
                + (against.isEmpty ? comparisons : against).map(describe).joined(separator: "; ") + " (1 seed: no test)"
            return result
        }
        let pFor = comparisons.map { Statistics.pairedOneSidedP($0.a.1.values, $0.b.1.values) ?? 1 }
        let pAgainst = comparisons.map { Statistics.pairedOneSidedP($0.b.1.values, $0.a.1.values) ?? 1 }
        let forClaim = Statistics.holmRejections(pFor, alpha: alpha)
        let againstClaim = Statistics.holmRejections(pAgainst, alpha: alpha)
        // Holm-adjusted p of the whole claim: the largest adjusted p of its comparisons.
        result.p = holmAdjusted(pFor).max()
        let lines = comparisons.indices.map { i in describe(comparisons[i]) + String(format: " (p %.3g)", pFor[i]) }
        if forClaim.allSatisfy({ $0 }) {
            result.verdict = .held
            result.evidence = lines.joined(separator: "; ")
        } else if againstClaim.contains(true) {
            result.verdict = .notHeld
            result.evidence = "contradicted: " + comparisons.indices.filter { againstClaim[$0] }.map { describe(comparisons[$0]) + String(format: " (p of the reverse %.3g)", pAgainst[$0]) }.joined(separator: "; ")
        } else {
            result.verdict = .inconclusive
            result.evidence = lines.joined(separator: "; ")
        }
        result.evidence += " [\(testName); \(seeds) seeds]"
        return result
    }

    /// Holm-adjusted p-values (monotone, capped at 1).
    static func holmAdjusted(_ p: [Double]) -> [Double] {
        let order = p.indices.sorted { p[$0] < p[$1] }
        var adjusted = [Double](repeating: 1, count: p.count), running = 0.0
        for (rank, i) in order.enumerated() {
            running = max(running, min(1, Double(p.count - rank) * p[i]))
            adjusted[i] = running
        }
        return adjusted
    }
}
