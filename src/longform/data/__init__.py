"""Long-output SFT data: run AgentWrite over many instructions, filter, export."""
