import CNative
import Foundation

/// The instruction-set variant of the engine's own C kernels (direct and depthwise convs,
/// im2col, the elementwise and row kernels): avx512, avx2 or baseline, each built from the
/// same source (CNative/isa_variants.h). Chosen once per process: SCALEKD_ISA when set,
/// else the best this CPU runs. The AVX-512 variant uses 16-lane vectors and FMA, so it sums
/// in other orders than the AVX2 one; pinning the variant (with the BLAS kernel) makes a
/// run's numbers the same on every x86-64 host.
public enum KernelISA {
    public struct Info: Sendable {
        /// "avx512", "avx2" or "baseline".
        public var name: String
        /// What decided: "SCALEKD_ISA" or "the best this CPU runs".
        public var reason: String
    }

    /// A SCALEKD_ISA value naming no variant, or one this CPU cannot run.
    public struct ChoiceError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Every variant, best first (the values SCALEKD_ISA accepts).
    public static let all: [String] = (0..<Int(SKD_ISA_COUNT)).reversed().map { String(cString: skd_isa_name(Int32($0))) }

    /// The variants this build has and this CPU runs, best first.
    public static var supported: [String] {
        let bits = skd_isa_supported()
        return all.filter { bits & (1 << UInt32(index($0))) != 0 }
    }

    private static let resolved: Info = {
        var reason: UnsafePointer<CChar>?
        var err = [CChar](repeating: 0, count: 512)
        let isa = skd_isa_active(&reason, &err, err.count)
        if isa < 0 {
            // A setting mistake, not a crash: the message and exit status 2, no backtrace.
            FileHandle.standardError.write(Data("scalekd: \(String(cString: err))\n".utf8))
            exit(2)
        }
        return Info(name: String(cString: skd_isa_name(isa)), reason: reason.map { String(cString: $0) } ?? "")
    }()

    /// The process's variant (chosen on first use; a bad SCALEKD_ISA stops the process,
    /// exit status 2, with a message naming it and what the CPU runs).
    public static var info: Info { resolved }

    /// The rule the process applies once, as a pure function: the variant for the
    /// `supported` ones and a SCALEKD_ISA value (nil or empty: the best supported).
    public static func choose(supported: [String], requested: String?) -> Result<String, ChoiceError> {
        var bits: UInt32 = 0
        for s in supported { bits |= 1 << UInt32(index(s)) }
        var err = [CChar](repeating: 0, count: 512)
        let isa = skd_isa_choose(bits, requested, &err, err.count)
        return isa < 0 ? .failure(ChoiceError(description: String(cString: err))) : .success(String(cString: skd_isa_name(isa)))
    }

    /// The C index of a variant name (a programming error if it names none).
    static func index(_ name: String) -> Int {
        guard let i = (0..<Int(SKD_ISA_COUNT)).first(where: { String(cString: skd_isa_name(Int32($0))) == name }) else {
            preconditionFailure("no kernel variant '\(name)'")
        }
        return i
    }
}
