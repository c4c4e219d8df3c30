"""``pjwt import-flow``: moving a recipe-system (Node-RED) flow onto the add-on.

A migration tool, apart from the add-on itself: it reads a flow's JSON and the JavaScript
literals of its function nodes, and writes a Pyramid app's settings and payload module.
"""
