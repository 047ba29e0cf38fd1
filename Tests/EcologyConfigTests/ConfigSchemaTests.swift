import EcologyCore
@testable import EcologyConfig
import Foundation
import XCTest
import Yams

/// The key table, the Swift fields, the shipped file and the documentation all name
/// the same keys.
final class ConfigSchemaTests: XCTestCase {
    func testEveryWorldConfigFieldHasAKey() {
        XCTAssertEqual(Set(WorldConfigSchema.leafPaths), Set(swiftFieldPaths(WorldConfig(), prefix: "")))
        XCTAssertEqual(WorldConfigSchema.leafPaths.count, Set(WorldConfigSchema.leafPaths).count)
    }

    func testShippedFileGivesEveryKey() throws {
        let text = try String(contentsOfFile: shippedConfigPath, encoding: .utf8)
        let root = try XCTUnwrap(try Yams.compose(yaml: text))
        XCTAssertEqual(Set(yamlLeafPaths(root, prefix: "")), Set(WorldConfigSchema.leafPaths))
    }

    func testDocumentationListsEveryKey() throws {
        let docs = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/CONFIG.md"), encoding: .utf8)
        for path in WorldConfigSchema.leafPaths {
            XCTAssertTrue(docs.contains("`\(path)`"), "docs/CONFIG.md does not document `\(path)`")
        }
    }

    func testSnakeCase() {
        XCTAssertEqual(snakeCase("systemLLMRate"), "system_llm_rate")
        XCTAssertEqual(snakeCase("baseURL"), "base_url")
        XCTAssertEqual(snakeCase("executionCPUSeconds"), "execution_cpu_seconds")
        XCTAssertEqual(snakeCase("id"), "id")
    }

    /// Stored properties of the Swift value, by reflection, as snake_case key paths.
    private func swiftFieldPaths(_ value: Any, prefix: String) -> [String] {
        Mirror(reflecting: value).children.flatMap { child -> [String] in
            let path = joinPath(prefix, snakeCase(child.label ?? "?"))
            if let agents = child.value as? [AgentSpec] {
                return swiftFieldPaths(agents.first ?? AgentSpec(id: "x"), prefix: path + "[]")
            }
            if let prices = child.value as? [String: ModelPrice] {
                return swiftFieldPaths(prices.values.first!, prefix: path + ".<model>")
            }
            let children = Mirror(reflecting: child.value).children
            return children.isEmpty || child.value is String ? [path] : swiftFieldPaths(child.value, prefix: path)
        }
    }

    /// Keys given in a YAML document, in the schema's notation.
    private func yamlLeafPaths(_ node: Node, prefix: String) -> [String] {
        switch node {
        case .mapping(let mapping):
            return mapping.flatMap { key, value -> [String] in
                let name = prefix == "llm.prices" ? "<model>" : key.string ?? "?"
                return yamlLeafPaths(value, prefix: joinPath(prefix, name))
            }
        case .sequence(let sequence):
            return sequence.flatMap { yamlLeafPaths($0, prefix: prefix + "[]") }
        default:
            return [prefix]
        }
    }

    private func snakeCase(_ name: String) -> String {
        let characters = Array(name)
        var out = ""
        for (index, character) in characters.enumerated() {
            if character.isUppercase, index > 0 {
                let previous = characters[index - 1]
                let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) { out += "_" }
            }
            out += character.lowercased()
        }
        return out
    }
}
