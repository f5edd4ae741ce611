import Foundation
import Training

/// The verdict on one paper claim, with the numbers behind it.
public struct ClaimResult: Codable {
    public var id: String
    public var statement: String
    public var verdict: Verdict
    public var evidence: String
    public enum Verdict: String, Codable { case held, notHeld = "not held", notTestable = "not testable" }
}

/// Claims compare means; a difference counts only when it exceeds the seed spread
/// (the larger standard deviation of the two cells). With one seed there is no spread:
/// the verdict then rests on the sign alone and the evidence says so.
public enum ClaimEvaluator {
    public static func evaluate(_ claim: ClaimSpec, cells: [String: [String: CellValues]], rows: [String]) -> ClaimResult {
        func cell(_ ref: String) -> (String, CellValues)? {
            let p = ref.split(separator: ".").map(String.init)
            guard p.count == 2, let v = cells[p[0]]?[p[1]], !v.values.isEmpty else { return nil }
            return (ref, v)
        }
        func fmt(_ name: String, _ v: CellValues) -> String {
            v.values.count > 1 ? String(format: "%@ %.2f ± %.2f", name, v.mean, v.std) : String(format: "%@ %.2f", name, v.mean)
        }
        /// a beats b beyond the spread?
        func beats(_ a: CellValues, _ b: CellValues) -> (Bool, Bool) {
            let diff = a.mean - b.mean, spread = max(a.std, b.std)
            return (diff > spread, diff > 0)
        }
        var comparisons: [(Bool, String)] = []
        var missing: [String] = []
        switch claim.kind {
        case .greater:
            guard let c = claim.cell, let (an, a) = cell(c) else { missing.append(claim.cell ?? "?"); break }
            for ref in claim.than {
                guard let (bn, b) = cell(ref) else { missing.append(ref); continue }
                let (held, _) = beats(a, b)
                comparisons.append((held, "\(fmt(an, a)) vs \(fmt(bn, b))"))
            }
        case .allRows:
            guard let col = claim.cell, let other = claim.than.first else { break }
            for r in rows {
                guard let a = cells[r]?[col], let b = cells[r]?[other], !a.values.isEmpty, !b.values.isEmpty else { continue }
                let (held, _) = beats(a, b)
                comparisons.append((held, "\(fmt("\(r).\(col)", a)) vs \(fmt("\(r).\(other)", b))"))
            }
            if comparisons.isEmpty { missing.append("\(col)/\(other) in every row") }
        case .increasing:
            let vals = claim.than.map { ($0, cell($0)) }
            for (ref, v) in vals where v == nil { missing.append(ref) }
            if missing.isEmpty {
                for i in 1..<vals.count {
                    let (an, a) = vals[i].1!, (bn, b) = vals[i - 1].1!
                    let (held, _) = beats(a, b)
                    comparisons.append((held, "\(fmt(an, a)) > \(fmt(bn, b))"))
                }
            }
        }
        if !missing.isEmpty || comparisons.isEmpty {
            return ClaimResult(id: claim.id, statement: claim.statement, verdict: .notTestable,
                               evidence: "no result for " + missing.joined(separator: ", "))
        }
        let seedsNote = cells.values.flatMap(\.values).first.map { $0.values.count <= 1 } ?? true
            ? " (one seed: no spread, sign only)" : " (beyond the seed spread required)"
        let failed = comparisons.filter { !$0.0 }.map(\.1)
        let verdict: ClaimResult.Verdict = failed.isEmpty ? .held : .notHeld
        let evidence = (failed.isEmpty ? comparisons.map(\.1) : ["fails: " + failed.joined(separator: "; ")]).joined(separator: "; ") + seedsNote
        return ClaimResult(id: claim.id, statement: claim.statement, verdict: verdict, evidence: evidence)
    }
}
