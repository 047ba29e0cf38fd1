"""Adversarial minds (`mind: adversary:KIND`): each kind is a module here with a table of
attacks (name -> function of the mind) and a `Mind` class built on `base.Adversary`.

They act only through the kernel actions any agent has, over the same socket; what they
attempt and what the kernel answered is counted by the supervisor (the kernel's observer
hook), never reported by the adversary itself. docs/MINDS.md ("Adversaries") says what
each one proves.
"""
import importlib

# Kind -> module. The same list as the supervisor's `AdversaryKind`.
KINDS = {
    "griefer": "agent.adversaries.griefer",
    "sybil": "agent.adversaries.sybil",
    "front_runner": "agent.adversaries.front_runner",
    "wash_trader": "agent.adversaries.wash_trader",
    "freeloader": "agent.adversaries.freeloader",
    "squatter": "agent.adversaries.squatter",
    "contract_trickster": "agent.adversaries.contract_trickster",
    "hostile_coder": "agent.adversaries.hostile_coder",
}
PREFIX = "adversary:"


class UnknownAdversary(ValueError):
    pass


def module_for(kind):
    if kind not in KINDS:
        raise UnknownAdversary("unknown adversary kind %r (kinds are %s)" % (kind, ", ".join(KINDS)))
    return importlib.import_module(KINDS[kind])


def make_adversary(kernel, start, kind):
    """The mind of an `adversary:KIND` agent."""
    return module_for(kind).Mind(kernel, start)
