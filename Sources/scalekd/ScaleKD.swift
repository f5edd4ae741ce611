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
