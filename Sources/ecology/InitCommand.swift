import ArgumentParser
import EcologyCore
import EcologyKernel

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the world: genesis services, handbook, configured agents. Idempotent.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let kernel = try global.openWorld(requireInit: false)
        let created = try kernel.bootstrap()
        let report = try kernel.checkInvariants()
        if global.json {
            Output.json(["data_dir": .string(global.dataDir), "created_agents": .array(created.map(JSONValue.string)),
                         "total_scrip": .int(report.figures["total_scrip"] ?? 0)])
        } else {
            print("world at \(global.dataDir): \(created.isEmpty ? "already initialised" : "created agents \(created.joined(separator: ", "))"); total scrip \(report.figures["total_scrip"] ?? 0)")
        }
    }
}
