import EcologyCore
import Foundation
import XCTest

final class JSONSchemaTests: XCTestCase {
    let schema: JSONValue = [
        "type": "object",
        "properties": [
            "name": ["type": "string", "minLength": 2, "maxLength": 5],
            "count": ["type": "integer", "minimum": 1, "maximum": 10],
            "ratio": ["type": "number"],
            "tags": ["type": "array", "items": ["type": "string"], "minItems": 1, "maxItems": 2],
            "mode": ["enum": ["fast", "slow"]],
            "flag": ["type": "boolean"],
            "nested": ["type": "object", "properties": ["x": ["type": "integer"]], "required": ["x"]],
        ],
        "required": ["name", "count"],
        "additionalProperties": false,
    ]

    func code(_ body: () throws -> Void) -> (ErrorCode?, String) {
        do { try body(); return (nil, "") } catch let e as KernelError { return (e.code, e.message) } catch { return (.internal, "\(error)") }
    }

    func testValidDocumentPasses() throws {
        try JSONSchema.validate(["name": "abc", "count": 3, "ratio": 0.5, "tags": ["x"], "mode": "fast", "flag": true,
                                 "nested": ["x": 1]], against: schema)
        try JSONSchema.validate(["name": "ab", "count": 10.0], against: schema)  // 10.0 is an exact integer
    }

    func testEachKindOfMismatchIsInvalidArgsWithItsPath() {
        let cases: [(JSONValue, String)] = [
            (["count": 3], "args.name is required"),
            (["name": "abc"], "args.count is required"),
            (["name": 5, "count": 3], "args.name must be string"),
            (["name": "a", "count": 3], "args.name must have at least 2"),
            (["name": "abcdef", "count": 3], "args.name must have at most 5"),
            (["name": "abc", "count": 0], "args.count must be ≥ 1"),
            (["name": "abc", "count": 11], "args.count must be ≤ 10"),
            (["name": "abc", "count": 1.5], "args.count must be integer"),
            (["name": "abc", "count": true], "args.count must be integer"),
            (["name": "abc", "count": 3, "ratio": "x"], "args.ratio must be number"),
            (["name": "abc", "count": 3, "tags": []], "args.tags must have at least 1"),
            (["name": "abc", "count": 3, "tags": ["a", "b", "c"]], "args.tags must have at most 2"),
            (["name": "abc", "count": 3, "tags": ["a", 2]], "args.tags[1] must be string"),
            (["name": "abc", "count": 3, "mode": "medium"], "args.mode must be one of"),
            (["name": "abc", "count": 3, "flag": 1], "args.flag must be boolean"),
            (["name": "abc", "count": 3, "nested": [:]], "args.nested.x is required"),
            (["name": "abc", "count": 3, "extra": 1], "args.extra is not an accepted argument"),
            ("not an object", "args must be object"),
        ]
        for (doc, expected) in cases {
            let (c, msg) = code { try JSONSchema.validate(doc, against: schema) }
            XCTAssertEqual(c, .invalidArgs, "\(doc)")
            XCTAssertTrue(msg.hasPrefix(expected), "\(doc): '\(msg)' does not start with '\(expected)'")
        }
    }

    func testUnionTypesAndRefusedKeywords() throws {
        let s: JSONValue = ["type": ["string", "null"], "description": "annotations are ignored"]
        try JSONSchema.validate("x", against: s)
        try JSONSchema.validate(nil, against: s)
        XCTAssertEqual(code { try JSONSchema.validate(1, against: s) }.0, .invalidArgs)
        // A keyword outside the subset is refused, never ignored, and so is a schema that is no schema.
        do {
            _ = try JSONSchema.compile(["type": "string", "format": "email"], path: "interface.tools[0].inputSchema")
            XCTFail("format was accepted")
        } catch let e as KernelError {
            XCTAssertEqual(e.code, .invalidArgs)
            XCTAssertEqual(e.details?["keyword"], "format")
            XCTAssertEqual(e.details?["path"], "interface.tools[0].inputSchema.format")
            XCTAssertTrue(e.message.hasPrefix("interface.tools[0].inputSchema.format uses 'format', which is not a supported keyword"), e.message)
        }
        XCTAssertEqual(code { try JSONSchema.validate(1, against: "not a schema") }.0, .invalidArgs)
    }

    func testMismatchesCarryKeywordAndPath() throws {
        let compiled = try JSONSchema.compile(schema)
        do {
            try compiled.validate(["name": "abc", "count": 3, "tags": ["a", 2]])
            XCTFail("accepted")
        } catch let e as KernelError {
            XCTAssertEqual(e.details, ["keyword": "type", "path": "args.tags[1]"])
        }
    }

    // MARK: the cases sandbox/tests/test_schema.py runs too

    static func sharedCases() throws -> JSONValue {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/json-schema-cases.json")
        return try JSONCodec.decode(try Data(contentsOf: url))
    }

    func testSharedAcceptedCasesValidateAsPythonDoes() throws {
        let cases = try XCTUnwrap(try Self.sharedCases()["accepted"]?.arrayValue)
        XCTAssertGreaterThan(cases.count, 40)
        for c in cases {
            let name = c["description"]?.stringValue ?? "?"
            let compiled: CompiledSchema
            do { compiled = try JSONSchema.compile(try XCTUnwrap(c["schema"]), path: "schema") } catch {
                XCTFail("\(name): refused: \(error)"); continue
            }
            for instance in c["valid"]?.arrayValue ?? [] {
                XCTAssertNoThrow(try compiled.validate(instance), "\(name): \(JSONCodec.string(instance).prefix(80))")
            }
            for bad in c["invalid"]?.arrayValue ?? [] {
                let instance = bad["instance"] ?? .null
                do {
                    try compiled.validate(instance)
                    XCTFail("\(name): \(JSONCodec.string(instance).prefix(80)) was accepted")
                } catch let e as KernelError {
                    XCTAssertEqual(e.code, .invalidArgs)
                    XCTAssertEqual(e.details?["keyword"], bad["keyword"], "\(name): \(e.message)")
                    XCTAssertEqual(e.details?["path"], bad["path"], "\(name): \(e.message)")
                }
            }
        }
    }

    func testSharedRefusedCasesNameTheKeywordAsPythonDoes() throws {
        let cases = try XCTUnwrap(try Self.sharedCases()["refused"]?.arrayValue)
        XCTAssertGreaterThan(cases.count, 70)
        for c in cases {
            let name = c["description"]?.stringValue ?? "?"
            do {
                _ = try JSONSchema.compile(c["schema"] ?? .null, path: "schema")
                XCTFail("\(name): accepted")
            } catch let e as KernelError {
                XCTAssertEqual(e.code, .invalidArgs, name)
                XCTAssertEqual(e.details?["keyword"], c["keyword"], "\(name): \(e.message)")
                XCTAssertEqual(e.details?["path"], c["path"], "\(name): \(e.message)")
            }
        }
    }

    func testParameterOrderIsRequiredThenOptionalAlphabetically() {
        XCTAssertEqual(JSONSchema.parameterOrder(of: schema), ["name", "count", "flag", "mode", "nested", "ratio", "tags"])
    }

    func testPositionalArgumentsBecomeNamed() throws {
        let named = try JSONSchema.namedArguments(["abc", 3, true], schema: schema)
        XCTAssertEqual(named, ["name": "abc", "count": 3, "flag": true])
        XCTAssertEqual(try JSONSchema.namedArguments([], schema: schema), [:])
        // A single object is taken as the named arguments themselves.
        XCTAssertEqual(try JSONSchema.namedArguments([["name": "x", "count": 1]], schema: schema), ["name": "x", "count": 1])
        XCTAssertEqual(code { _ = try JSONSchema.namedArguments(["a", 1, true, "fast", [:], 1.0, [], "surplus"], schema: schema) }.0,
                       .invalidArgs)
    }

    func testSingleObjectParameterIsPositional() throws {
        let s: JSONValue = ["type": "object", "properties": ["filter": ["type": "object"]]]
        XCTAssertEqual(try JSONSchema.namedArguments([["kind": "tool"]], schema: s), ["filter": ["kind": "tool"]])
    }
}
