"""The offer catalogue: places of digital help in the national standard, imported, indexed and searched."""
