"""Storage: where revocations, subject cut-offs and refresh-token families are kept.

One module a store (memory, Redis), and the refresh-token rotation stated once with its
Lua and Python forms side by side. Nothing here imports Pyramid or the JOSE core.
"""
