import EcologyCore
@testable import EcologyKernel
import XCTest

/// An agent's interface is refused when written unless it is in the schema subset, and a
/// hostile schema written within it cannot make an invoke cost the supervisor more than
/// the validation budget (docs/THREAT_MODEL.md, C1.15–C1.19).
final class JSONSchemaInterfaceAttackTests: XCTestCase {
    func tool(_ schema: JSONValue) -> JSONValue {
        ["artifact_id": "hostile", "code": "echo", "content": "a hostile tool",
         "interface": ["tools": [["name": "run", "description": "runs", "inputSchema": schema]]]]
    }

    func testAnInterfaceOutsideTheSubsetIsRefusedNamingTheKeyword() throws {
        let w = try TestWorld()
        let cases: [(JSONValue, String, String)] = [
            (["type": "object", "properties": ["s": ["type": "string", "format": "email"]]], "format",
             "interface.tools[0].inputSchema.properties.s.format"),
            (["type": "object", "$ref": "#"], "$ref", "interface.tools[0].inputSchema.$ref"),
            (["type": "object", "properties": ["n": ["minLength": -1]]], "minLength",
             "interface.tools[0].inputSchema.properties.n.minLength"),
            (["type": "object", "properties": ["s": ["pattern": "(a)\\1"]]], "pattern",
             "interface.tools[0].inputSchema.properties.s.pattern"),
            (["type": "object", "properties": ["s": ["$ref": "#/$defs/nowhere"]]], "$ref",
             "interface.tools[0].inputSchema.properties.s.$ref"),
        ]
        for (schema, keyword, path) in cases {
            let answer = w.act("alpha", "write", tool(schema))
            XCTAssertCode(answer, .invalidArgs)
            XCTAssertEqual(answer.error?.details?["keyword"], .string(keyword), "\(answer)")
            XCTAssertEqual(answer.error?.details?["path"], .string(path), "\(answer)")
            XCTAssertTrue(answer.error?.message.hasPrefix(path) ?? false, "\(answer)")
        }
        XCTAssertNil(try w.artifact("hostile"), "nothing was written")
        w.assertInvariants()
    }

    func testACatastrophicPatternAndAHostileInputAreAnsweredCheaply() throws {
        let w = try TestWorld()
        let schema: JSONValue = ["type": "object", "required": ["s"], "properties": ["s": ["type": "string", "pattern": "^(a+)+$"]]]
        try XCTUnwrapOK(w.act("alpha", "write", tool(schema)))
        let hostile = String(repeating: "a", count: 50_000) + "b"
        let answer = w.act("beta", "invoke", ["artifact_id": "hostile", "method": "run", "args": [.string(hostile)]])
        XCTAssertCode(answer, .invalidArgs)
        XCTAssertEqual(answer.error?.details?["keyword"], "pattern")
        XCTAssertEqual(w.executor.count(.artifact), 0, "the code never ran")
        XCTAssertTrue(w.act("beta", "invoke", ["artifact_id": "hostile", "method": "run", "args": ["aaaa"]]).isOK)
        w.assertInvariants()
    }

    func testExponentialFanOutIsStoppedByTheValidationBudget() throws {
        let w = try TestWorld()
        var defs: [String: JSONValue] = ["d30": ["type": "integer"]]
        for i in 0..<30 {
            let next: JSONValue = ["$ref": .string("#/$defs/d\(i + 1)")]
            defs["d\(i)"] = ["allOf": [next, next]]
        }
        let schema: JSONValue = ["type": "object", "$defs": .object(defs), "properties": ["x": ["$ref": "#/$defs/d0"]]]
        try XCTUnwrapOK(w.act("alpha", "write", tool(schema)))
        let answer = w.act("beta", "invoke", ["artifact_id": "hostile", "method": "run", "args": [1]])
        XCTAssertCode(answer, .invalidArgs)
        XCTAssertEqual(answer.error?.details?["limit"], "validation_steps")
        XCTAssertEqual(w.executor.count(.artifact), 0)
        XCTAssertTrue(w.act("alpha", "noop", [:]).isOK)
        w.assertInvariants()
    }
}
