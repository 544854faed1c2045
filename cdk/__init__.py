"""The CDK app: the whole AWS topology (DESIGN.md, "AWS topology") as stacks made of constructs.

The handlers are named by string, never imported.
"""
