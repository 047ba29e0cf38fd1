import EcologyCore
import EcologyKernel
import EcologyStore
import Foundation

/// A bootstrapped world in a temporary directory on a virtual clock: the default
/// configuration's five agents and the genesis services, the scripted executor for code.
final class FuzzWorld {
    let directory: URL
    let clock = VirtualClock()
    let kernel: Kernel
    let agents: [String]

    init() throws {
        let base = ProcessInfo.processInfo.environment["ECOLOGY_FUZZ_WORLD_DIR"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory
        directory = base.appendingPathComponent("ecology-fuzz-world-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = WorldConfig()
        let database = try WorldDatabase(path: directory.appendingPathComponent("world.sqlite").path)
        kernel = Kernel(database: database, config: config, clock: clock, executor: ScriptedExecutor())
        try kernel.bootstrap()
        agents = config.agents.map(\.id)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}
