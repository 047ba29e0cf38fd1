import EcologyCore
@testable import EcologyLLM
import XCTest

final class ChatRequestTests: XCTestCase {
    func testParsesTheKernelsLLMActionParameters() throws {
        let json = try JSONCodec.decode("""
            {"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
                "function":{"name":"read","arguments":"{\\"id\\":\\"a\\"}"}}]},
              {"role":"tool","tool_call_id":"c1","content":"r"}],
             "tools":[{"type":"function","function":{"name":"read","description":"d",
               "parameters":{"type":"object","properties":{"id":{"type":"string"}}}}}],
             "tool_choice":{"type":"function","function":{"name":"read"}},
             "schema":{"type":"object"},"max_tokens":64,"temperature":0.2,"seed":9,"model":"m"}
            """)
        let r = try ChatRequest(json: json)
        XCTAssertEqual(r.messages.count, 4)
        XCTAssertEqual(r.messages[2].toolCalls, [ToolCall(id: "c1", name: "read", arguments: #"{"id":"a"}"#)])
        XCTAssertEqual(r.messages[2].toolCalls[0].parsedArguments, ["id": "a"])
        XCTAssertEqual(r.messages[3].toolCallID, "c1")
        XCTAssertEqual(r.tools.map(\.name), ["read"])
        XCTAssertEqual(r.toolChoice, .function("read"))
        XCTAssertEqual(r.responseFormat, .jsonSchema(name: "response", schema: ["type": "object"], strict: true))
        XCTAssertEqual(r.maxTokens, 64)
        XCTAssertEqual(r.temperature, 0.2)
        XCTAssertEqual(r.seed, 9)
        XCTAssertEqual(r.model, "m")
        // The wire form of each message round-trips.
        for m in r.messages { XCTAssertEqual(try ChatMessage(json: m.json), m) }
    }

    func testMalformedParametersAreInvalidArgs() {
        for text in [#"[]"#, #"{"messages":"hi"}"#, #"{"messages":[{"role":"boss","content":"x"}]}"#,
                     #"{"messages":[{"role":"user","content":5}]}"#, #"{"messages":[],"max_tokens":"many"}"#,
                     #"{"messages":[],"tool_choice":"sometimes"}"#, #"{"messages":[],"response_format":{"type":"yaml"}}"#,
                     #"{"messages":[],"temperature":"hot"}"#] {
            XCTAssertThrowsError(try ChatRequest(json: try JSONCodec.decode(text)), text) {
                XCTAssertEqual(($0 as? KernelError)?.code, .invalidArgs, text)
            }
        }
    }

    func testProviderReplyShapes() throws {
        func parse(_ s: String) -> Result<ProviderResponse, ProviderError> {
            OpenAIChatWire.parse(status: 200, retryAfterHeader: nil, body: Data(s.utf8), nowSeconds: 0)
        }
        // Partial usage counts as no usage.
        let partial = try parse(#"{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":3}}"#).get()
        XCTAssertNil(partial.usage)
        XCTAssertEqual(partial.message.role, .assistant)
        // Arguments sent as an object (some local servers) become JSON text.
        let objArgs = try parse(#"{"choices":[{"message":{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":{"a":1}}}]}}]}"#).get()
        XCTAssertEqual(objArgs.message.toolCalls.first?.arguments, #"{"a":1}"#)
        XCTAssertEqual(objArgs.message.toolCalls.first?.id, "call_0")
        guard case .failure(.malformedResponse(let why, _)) = parse(#"{"error":{"message":"overloaded"}}"#) else {
            return XCTFail("an error object in a 200 is malformed")
        }
        XCTAssertTrue(why.contains("overloaded"))
        guard case .failure(.malformedResponse) = parse(#"{"choices":[]}"#) else { return XCTFail("empty choices") }
        guard case .failure(.malformedResponse) = parse(#"{"choices":[{"message":{"role":"user","content":"x"}}]}"#) else {
            return XCTFail("a non-assistant reply")
        }
    }
}
