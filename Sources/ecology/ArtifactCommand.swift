import ArgumentParser
import EcologyCore
import EcologyKernel
import Foundation

struct ArtifactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "artifact", abstract: "Write, read or delete an artifact as a principal.",
        subcommands: [Put.self, Read.self, Delete.self])

    struct Put: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or replace an artifact; prints the envelope.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Artifact ID (1-128 of [A-Za-z0-9_.-]).") var id: String
        @Option(name: .customLong("as"), help: "The principal acting.") var principal: String
        @Option(help: "Content text.") var content: String?
        @Option(help: "File with the content.") var contentFile: String?
        @Option(help: "File with Python code.") var codeFile: String?
        @Option(help: "File with the JSON interface {\"tools\":[...]}.") var interfaceFile: String?
        @Flag(help: "The artifact can be invoked.") var executable = false
        @Flag(help: "The artifact is a principal (holds balances).") var standing = false
        @Option(help: "Access contract ID (default genesis_freeware).") var contract: String?
        @Option(help: "Scrip an invoker pays the owner per successful call.") var price: Int64?

        func run() throws {
            if content != nil && contentFile != nil { throw CLIError("give --content or --content-file, not both") }
            var params: [String: JSONValue] = ["artifact_id": .string(id)]
            if let content { params["content"] = .string(content) }
            if let contentFile { params["content"] = .string(try readFile(contentFile)) }
            if let codeFile { params["code"] = .string(try readFile(codeFile)) }
            if let interfaceFile {
                do { params["interface"] = try JSONCodec.decode(try readFile(interfaceFile)) }
                catch { throw CLIError("\(interfaceFile) is not valid JSON") }
            }
            if executable { params["executable"] = true }
            if standing { params["standing"] = true }
            if let contract { params["contract"] = .string(contract) }
            if let price { params["price"] = .int(price) }
            let kernel = try global.openWorld()
            try kernel.resolveMintIfDue()
            Output.envelope(kernel.handle(action: "write", params: .object(params), context: .principal(principal)), json: global.json)
        }
    }

    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read an artifact; prints the envelope.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String
        @Option(name: .customLong("as"), help: "The principal acting.") var principal: String
        func run() throws {
            let kernel = try global.openWorld()
            Output.envelope(kernel.handle(action: "read", params: ["artifact_id": .string(id)], context: .principal(principal)), json: global.json)
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an artifact (leaves a tombstone); prints the envelope.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String
        @Option(name: .customLong("as"), help: "The principal acting.") var principal: String
        func run() throws {
            let kernel = try global.openWorld()
            try kernel.resolveMintIfDue()
            Output.envelope(kernel.handle(action: "delete", params: ["artifact_id": .string(id)], context: .principal(principal)), json: global.json)
        }
    }
}

func readFile(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
    guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(path) is not UTF-8 text") }
    return text
}
