"""The AgentWrite pipeline: plan → sections → document, every artifact on disk."""
