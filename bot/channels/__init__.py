"""Channels translate at the border only: their input into Inbound, the engine's Turn into their output."""
