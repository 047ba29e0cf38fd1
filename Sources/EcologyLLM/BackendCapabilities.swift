import EcologyCore

/// What one OpenAI-compatible backend understands. The request body is adapted from
/// this value, never from the backend's name, so a new server is a new value.
public struct BackendCapabilities: Sendable, Equatable {
    /// How the backend constrains a reply to JSON.
    public enum StructuredOutput: String, Sendable, Equatable, CaseIterable {
        /// `response_format: {"type":"json_schema", ...}` is honoured.
        case jsonSchema = "json_schema"
        /// Only `{"type":"json_object"}`: the schema travels as a system instruction.
        case jsonObject = "json_object"
        /// No `response_format` at all: the schema travels as a system instruction.
        case promptOnly = "prompt"
    }

    public var structuredOutput: StructuredOutput
    /// Function calling (`tools`) works.
    public var supportsTools: Bool
    /// `tool_choice` is accepted; otherwise it is left out (the model chooses).
    public var supportsToolChoice: Bool
    /// `seed` is accepted; otherwise it is left out.
    public var supportsSeed: Bool

    public init(structuredOutput: StructuredOutput, supportsTools: Bool, supportsToolChoice: Bool, supportsSeed: Bool) {
        self.structuredOutput = structuredOutput; self.supportsTools = supportsTools
        self.supportsToolChoice = supportsToolChoice; self.supportsSeed = supportsSeed
    }

    public static let openAI = BackendCapabilities(structuredOutput: .jsonSchema, supportsTools: true,
                                                   supportsToolChoice: true, supportsSeed: true)
    /// Gemini's OpenAI-compatible endpoint.
    public static let gemini = BackendCapabilities(structuredOutput: .jsonSchema, supportsTools: true,
                                                   supportsToolChoice: true, supportsSeed: true)
    /// Ollama's `/v1`: schemas yes, `tool_choice` no.
    public static let ollama = BackendCapabilities(structuredOutput: .jsonSchema, supportsTools: true,
                                                   supportsToolChoice: false, supportsSeed: true)
    /// llama.cpp `llama-server`: grammar-constrained schemas; tools need `--jinja`.
    public static let llamaCpp = BackendCapabilities(structuredOutput: .jsonSchema, supportsTools: true,
                                                     supportsToolChoice: false, supportsSeed: true)
    /// vLLM: schemas; tools need `--enable-auto-tool-choice`.
    public static let vllm = BackendCapabilities(structuredOutput: .jsonSchema, supportsTools: true,
                                                 supportsToolChoice: true, supportsSeed: true)

    /// A preset by name: `openai`, `gemini`, `ollama`, `llama.cpp`, `vllm`.
    public static func preset(named name: String) -> BackendCapabilities? {
        switch name.lowercased() {
        case "openai": return .openAI
        case "gemini": return .gemini
        case "ollama": return .ollama
        case "llama.cpp", "llamacpp", "llama-server": return .llamaCpp
        case "vllm": return .vllm
        default: return nil
        }
    }

    /// Derived from `LLMSettings.structuredOutput` when no preset is named:
    /// `tools` → function calling plus json_schema; `json_schema` / `json_object` /
    /// `prompt` → that structured-output style and no tools. `tool_choice` is left out
    /// (safe everywhere: every backend defaults to letting the model choose).
    public static func from(settings: LLMSettings) throws -> BackendCapabilities {
        switch settings.structuredOutput {
        case "tools":
            return BackendCapabilities(structuredOutput: .jsonSchema, supportsTools: true,
                                       supportsToolChoice: false, supportsSeed: true)
        case let style:
            guard let s = StructuredOutput(rawValue: style) else {
                throw KernelError(.internal, "LLM configuration error: llm.structured_output is \"\(style)\"; "
                                  + "expected tools, json_schema, json_object or prompt")
            }
            return BackendCapabilities(structuredOutput: s, supportsTools: false,
                                       supportsToolChoice: false, supportsSeed: true)
        }
    }
}
