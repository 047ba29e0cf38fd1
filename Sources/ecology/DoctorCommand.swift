import ArgumentParser
import EcologyCore
import EcologySandbox

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor", abstract: "Which sandbox layers (namespaces, cgroup v2/v1, seccomp, rlimits) this host allows.")
    @OptionGroup var global: GlobalOptions
    func run() throws {
        let config = try global.loadConfig()
        let report = HostProbe.run(config: config)
        if global.json {
            var o = report.json.objectValue ?? [:]
            o["version"] = .string(EcologyVersion.current)
            o["config"] = global.configJSON(config)
            Output.json(.object(o))
        } else {
            print("ecology \(EcologyVersion.current)")
            print(global.configInUse(config))
            print(report.description)
        }
    }
}

struct SandboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox", abstract: "Sandbox policies.", subcommands: [Policy.self])

    struct Policy: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the sandbox policy of a child kind: agent, artifact or contract.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "agent, artifact or contract") var kind: String
        func run() throws {
            guard let k = ChildKind(rawValue: kind) else { throw CLIError("unknown child kind '\(kind)'; kinds: agent, artifact, contract") }
            let policy = SandboxPolicy.for(kind: k, config: try global.loadConfig())
            if global.json { Output.json(policy.json) } else { print(policy.description) }
        }
    }
}
