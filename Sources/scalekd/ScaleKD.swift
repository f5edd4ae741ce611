import ArgumentParser
import Experiments
import Foundation

@main
struct ScaleKDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scalekd",
        abstract: "The ScaleKD replication suite: paper tables as declared experiments on a Swift tensor engine.",
        subcommands: [EnvCommand.self, BenchCommand.self])
}

struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "env", abstract: "Print the machine, BLAS kernel and library versions.")
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let env = EnvironmentReport.current()
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(env), as: UTF8.self))
        } else {
            for (k, v) in env.lines { print("\(k.padding(toLength: 22, withPad: " ", startingAt: 0)) \(v)") }
        }
    }
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the engine against PyTorch on the same CPU (tools/bench_torch.py, when torch is importable).")
    @Option(help: "Path of the PyTorch reference script.") var torchScript = "tools/bench_torch.py"
    @Flag(help: "Skip PyTorch even if it is installed.") var noTorch = false
    @Option(help: "Only workloads whose name contains this text.") var only: String?

    func run() throws {
        let env = EnvironmentReport.current()
        print("BLAS kernel \(env.blasKernel) (\(env.blasKernelReason)), \(env.blasThreads) BLAS threads, \(env.loopThreads) loop threads; CPU \(env.cpu)")
        let wanted = { (name: String) in only.map { name.contains($0) } ?? true }
        var rows = wanted("sgemm") ? Bench.sgemm() : []
        if wanted("conv2d") { rows.append(Bench.conv2d()) }
        if wanted("attention") { rows.append(Bench.attention()) }
        if !noTorch, let torch = Bench.torchFigures(script: torchScript, threads: env.blasThreads) {
            for i in rows.indices { rows[i].torch = torch[rows[i].name] }
        } else if !noTorch {
            print("(PyTorch not importable: install it with `pip install torch` for the side-by-side column)")
        }
        print(Bench.table(rows))
    }
}
