import ArgumentParser
import EcologyCore
import EcologyKernel

struct InvokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoke",
        abstract: "One kernel invoke as a principal; prints the response envelope.",
        discussion: "Each ARG is a JSON value (bare words are taken as strings). Exits 0 whether the call succeeded or not.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Artifact to invoke, e.g. genesis_ledger.") var artifact: String
    @Argument(help: "Method (tool) name, e.g. transfer.") var method: String
    @Argument(parsing: .allUnrecognized, help: "Arguments, each a JSON value.") var args: [String] = []
    @Option(name: .customLong("as"), help: "The principal acting.") var principal: String

    func run() throws {
        let kernel = try global.openWorld()
        let values = try args.map(parseJSONArgument)
        try kernel.resolveMintIfDue()
        let envelope = kernel.invoke(artifact, method: method, args: values, context: .principal(principal))
        Output.envelope(envelope, json: global.json)
    }
}
