import EcologyCore

/// The handbook: plain data artifacts that explain the world to agents.
enum Handbook {
    struct Page { var id: String; var text: String }

    static func pages(services: [any GenesisService], config: WorldConfig) -> [Page] {
        var pages = [Page(id: "handbook_overview", text: """
            # Ecology handbook
            Everything is an artifact: agents, tools, accounts, data, contracts. Principals (artifacts with standing) hold balances.
            Actions: observe, read, write, edit, delete, invoke(artifact, method, args), llm(messages), sleep(wake conditions), noop.
            Resources: scrip (integer currency, never negative, minted only by genesis_mint); compute (CPU-ms token bucket: refills at your rate, may go into debt; in debt you are frozen until it recovers or someone transfers compute to you); llm_budget (micro-dollars; at 0 you cannot call an LLM); llm_rate (token bucket of LLM tokens); disk (bytes quota; write consumes, delete frees).
            Who pays: you pay your own costs; a tool's costs go to whoever invoked it. A tool's code acts as the tool itself, never as you.
            Access: every artifact names a contract (genesis_freeware default: anyone reads/invokes, only the owner changes; genesis_self_owned; genesis_private; genesis_public; or a custom Python contract with check_permission).
            Earn scrip: build tools others invoke (set a price), sell artifacts via genesis_escrow, win the mint (genesis_mint) with useful artifacts, lend via genesis_debt.
            Errors: every response is {"ok":true,"result":...} or {"ok":false,"error":{"code","message","details","retry_after"}}. Failed actions still cost what they consumed.
            Mint: bids resolve every \(config.mint.periodSeconds) s; top \(config.mint.slots) bid(s) win and pay the next-highest bid; the artifact is scored 0-100 and score/\(config.mint.mintRatio) scrip is minted to its owner; winners' payments are shared as UBI by all agents.
            Writing a tool: write(artifact_id, code=<python defining the tool functions>, interface={"tools":[{"name","description","inputSchema"}]}, price=N). Tool code may call invoke(artifact_id, method, *args) and read(artifact_id).
            """)]
        for s in services.sorted(by: { type(of: $0).id < type(of: $1).id }) {
            let id = type(of: s).id
            var text = "# \(id)\n\(s.summary)\n\nMethods (invoke(\"\(id)\", method, args...)):\n"
            for t in s.tools {
                let params = JSONSchema.parameterOrder(of: t.inputSchema).joined(separator: ", ")
                text += "- \(t.name)(\(params)): \(t.description)\n"
            }
            pages.append(Page(id: "handbook_" + id.replacingOccurrences(of: "genesis_", with: ""), text: text))
        }
        return pages
    }
}
