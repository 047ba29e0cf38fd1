import ArgumentParser
import EcologyCore
import EcologyKernel

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the world: genesis services, handbook, configured agents. Idempotent.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let config = try global.loadConfig()
        let kernel = try global.openWorld(config: config, requireInit: false)
        let created = try kernel.bootstrap()
        let report = try kernel.checkInvariants()
        if global.json {
            Output.json(["data_dir": .string(global.dataDir), "created_agents": .array(created.map(JSONValue.string)),
                         "total_scrip": .int(report.figures["total_scrip"] ?? 0), "config": global.configJSON(config)])
        } else {
            print("world at \(global.absoluteDataDir): \(created.isEmpty ? "already initialised" : "created agents \(created.joined(separator: ", "))"); total scrip \(report.figures["total_scrip"] ?? 0)")
            print(global.configInUse(config))
        }
    }
}
