import ArgumentParser
import EcologyCore
import EcologyKernel
import Foundation

/// Operator controls over agents; a running supervisor picks them up within a second.
struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Pause, resume or unpark an agent.",
        subcommands: [Pause.self, Resume.self, Unpark.self])

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the agent's child and keep it stopped until resumed.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String
        func run() throws { try control(global, id, pause: true) }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a paused agent run again.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String
        func run() throws { try control(global, id, pause: false) }
    }

    struct Unpark: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Clear a parked agent (one that crashed past the restart intensity).")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String
        func run() throws { try control(global, id, unpark: true) }
    }

    static func control(_ global: GlobalOptions, _ id: String, pause: Bool? = nil, unpark: Bool = false) throws {
        let kernel = try global.openWorld()
        do { try kernel.setAgentControl(id, pause: pause, unpark: unpark) } catch let e as KernelError { throw CLIError(e.description) }
        let what = unpark ? "unparked" : (pause == true ? "paused" : "resumed")
        if global.json { Output.json(["agent": .string(id), "done": .string(what)]) } else { print("\(id) \(what)") }
    }
}

struct InjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inject", abstract: "Inject an event into the world (wakes agents sleeping on it).",
        subcommands: [Event.self])

    struct Event: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Append a custom event on a topic, marked as injected by the operator.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Topic (1-64 characters).") var topic: String
        @Option(help: "JSON object payload.") var data: String = "{}"
        @Option(help: "Principal the event is attributed to.") var principal: String = "operator"
        func run() throws {
            guard (1...64).contains(topic.count) else { throw CLIError("topic must be 1-64 characters") }
            guard let payload = try? JSONCodec.decode(data), payload.objectValue != nil else { throw CLIError("--data must be a JSON object") }
            let seq = try global.openWorld().recordEvent("custom", principal: principal,
                                                         ["topic": .string(topic), "data": payload, "injected": true])
            if global.json { Output.json(["seq": .int(seq)]) } else { print("event \(seq) injected on topic \(topic)") }
        }
    }
}
